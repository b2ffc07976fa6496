/**
 * Test harness for FreeRADIUS peers: a private FreeRADIUS (several coa listeners = several NAS, an
 * accounting listener writing detail files) and radclient as the NAS sending Accounting-Requests.
 * The implementation lives in src/sandbox/radius so that `npm start` runs the very same NAS.
 */
export { startFreeRadius, freeUdpPorts, FreeRadiusUnavailableError, type FreeRadiusInstance, type FreeRadiusOptions } from '../../src/sandbox/radius/freeradius-instance';
export { sendAccounting } from '../../src/sandbox/radius/radclient-accounting';

import { CONTOSO } from '../contoso';
import { startFreeRadius, FreeRadiusUnavailableError, type FreeRadiusInstance } from './freeradius-instance';
import { sendAccounting } from './radclient-accounting';

export { FreeRadiusUnavailableError };

export interface SandboxRadiusOptions {
  /** the NAS's Disconnect port; default CONTOSO.nas.coaPort (13799); 0 picks a free one */
  nasPort?: number;
  /** default CONTOSO.nas.secret */
  secret?: string;
  /** seed accounting (detail files written by FreeRADIUS itself); default true */
  accounting?: boolean;
  now?: () => Date;
}

export interface SandboxRadius {
  nasPort: number;
  /** where the detail files are (`<dir>/127.0.0.1/detail-YYYYMMDD`): read with localDetailSource(dir) */
  accountingDir?: string;
  acctPort?: number;
  close(): Promise<void>;
}

/**
 * Contoso's NAS for `npm start`: a private FreeRADIUS that ACKs Disconnect-Requests for adele's two
 * sessions (S-1001, S-1002) and NAKs anything else with Error-Cause 503, and that, as the accounting
 * server, has recorded her sessions: S-1001 from the attacker's address (Start + Interim-Update),
 * S-1002 (Start: her laptop on Gi1/0/12 of the Lisbon switch sw-lis-3, 802.1X), and yesterday's S-0990 from Lisbon (Start + Stop).
 * Throws FreeRadiusUnavailableError when FreeRADIUS is not installed: the caller decides what to skip.
 */
export async function startSandboxRadius(opts: SandboxRadiusOptions = {}): Promise<SandboxRadius> {
  const secret = opts.secret ?? CONTOSO.nas.secret;
  const seed = opts.accounting ?? true;
  const nasPort = opts.nasPort ?? CONTOSO.nas.coaPort;
  const adele = CONTOSO.adele.upn;
  let fr: FreeRadiusInstance;
  try {
    fr = await startFreeRadius({
      coaPorts: nasPort === 0 ? undefined : [nasPort],
      nasCount: 1,
      accounting: seed,
      secret,
      knownSessions: CONTOSO.nas.sessions.map((acctSessionId) => ({ userName: adele, acctSessionId })),
    });
  } catch (e) {
    if (e instanceof FreeRadiusUnavailableError) throw e;
    throw new Error(`the sandbox NAS (FreeRADIUS on 127.0.0.1:${nasPort || 'a free port'}) did not start: ${(e as Error).message}`);
  }
  if (seed) {
    const now = (opts.now ?? (() => new Date()))().getTime();
    const at = (minutesAgo: number) => `Event-Timestamp = ${Math.floor((now - minutesAgo * 60_000) / 1000)}`;
    const base = [`User-Name = "${adele}"`, `NAS-IP-Address = ${CONTOSO.nas.ip}`, `NAS-Identifier = "${CONTOSO.nas.id}"`, 'NAS-Port-Type = Virtual', 'Service-Type = Framed-User'];
    const wired = base.map((a) => a.startsWith('NAS-Port-Type') ? 'NAS-Port-Type = Ethernet' : a);
    const [s1001, s1002] = CONTOSO.nas.sessions;
    try {
      await sendAccounting(fr.acctPort!, secret, [
        [...base, 'Acct-Status-Type = Start', 'Acct-Session-Id = "S-0990"', 'Framed-IP-Address = 10.99.0.10', `Calling-Station-Id = "${CONTOSO.lisbonIp}"`, at(20 * 60)],
        [...base, 'Acct-Status-Type = Stop', 'Acct-Session-Id = "S-0990"', 'Framed-IP-Address = 10.99.0.10', `Calling-Station-Id = "${CONTOSO.lisbonIp}"`,
          'Acct-Session-Time = 28800', 'Acct-Input-Octets = 73400320', 'Acct-Output-Octets = 1258291200', 'Acct-Terminate-Cause = User-Request', at(12 * 60)],
        [...base, 'Acct-Status-Type = Start', `Acct-Session-Id = "${s1001}"`, 'Framed-IP-Address = 10.99.0.77', `Calling-Station-Id = "${CONTOSO.attackerIp}"`, at(95)],
        [...base, 'Acct-Status-Type = Interim-Update', `Acct-Session-Id = "${s1001}"`, 'Framed-IP-Address = 10.99.0.77', `Calling-Station-Id = "${CONTOSO.attackerIp}"`,
          'Acct-Session-Time = 5100', 'Acct-Input-Octets = 1073741824', 'Acct-Input-Gigawords = 2', 'Acct-Output-Octets = 52428800', at(10)],
        // her laptop on the Lisbon office switch (802.1X): the port and MAC the switch emulator shows
        [...wired, 'Acct-Status-Type = Start', `Acct-Session-Id = "${s1002}"`, 'Framed-IP-Address = 10.20.0.15', `NAS-Port-Id = "${CONTOSO.accessSwitch.laptopPort}"`,
          `Calling-Station-Id = "${CONTOSO.accessSwitch.laptopMac}"`, at(30)],
      ]);
    } catch (e) {
      await fr.stop();
      throw new Error(`the sandbox NAS started but its accounting could not be seeded: ${(e as Error).message}`);
    }
  }
  return { nasPort: fr.coaPorts[0], accountingDir: fr.accountingDir, acctPort: fr.acctPort, close: () => fr.stop() };
}

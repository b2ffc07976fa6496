export { startSandboxRadius, FreeRadiusUnavailableError, type SandboxRadius, type SandboxRadiusOptions } from './start-sandbox-radius';
export { startFreeRadius, type FreeRadiusInstance, type FreeRadiusOptions } from './freeradius-instance';

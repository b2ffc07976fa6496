export { startSandboxSamba, contosoDirectoryOn, SambaUnavailableError, type SandboxSamba } from './start-sandbox-samba';
export { provisionSambaTemplate, ensureSambaTemplate, startSambaDc, pickLoopbackAddress, sambaUnavailableReason, type SambaDc, type SambaTemplate, type SeededAccount } from './samba-dc';
export { CONTOSO_AD } from './contoso-directory';

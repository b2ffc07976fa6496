export { SshSession, type ExecResult } from './ssh-session';
export { CliShell, DEFAULT_PROMPT, type CliExchange, type CliShellOptions } from './cli-shell';
export { hostKeyFingerprint, sameFingerprint } from './host-key';

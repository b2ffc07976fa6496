import type { FirewallConfig } from '../../../src/config/customers';
import { EnvFileSecretStore } from '../../../src/config/secrets';

export const FW_USER = { username: 'ir-bot', password: 'fw-test-pass' };
export const fwSecrets = new EnvFileSecretStore({ FW_PASSWORD: FW_USER.password, FW2_PASSWORD: FW_USER.password });

export function firewallConfig(kind: FirewallConfig['kind'], emu: { port: number; hostKeySha256: string }, over: Partial<FirewallConfig> = {}): FirewallConfig {
  return {
    id: `${kind}-test`,
    kind,
    blockGroup: 'IR-Block',
    ssh: { host: '127.0.0.1', port: emu.port, username: FW_USER.username, passwordRef: 'env:FW_PASSWORD', hostKeySha256: emu.hostKeySha256, timeoutMs: 5000 },
    ...over,
  };
}

/** The lines received since `from`, for asserting exactly what a step sent. */
export const since = (received: string[], from: number) => received.slice(from);

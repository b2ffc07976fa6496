import { readFileSync } from 'node:fs';

/**
 * A reference to a secret, never the secret itself: `env:NAME` (an environment variable) or
 * `file:/path` (a mounted secret, e.g. Key Vault through the CSI driver). Config files hold only these.
 */
export type SecretRef = string;
export const SECRET_REF = /^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/[^\0\n]+)$/;

export interface SecretStore {
  /** Resolves a reference; throws an error that names the reference (never a value) when it is missing. */
  get(ref: SecretRef): string;
  has(ref: SecretRef): boolean;
}

export class MissingSecretError extends Error {
  constructor(readonly ref: SecretRef) {
    super(`secret ${ref} is not set`);
    this.name = 'MissingSecretError';
  }
}

export class EnvFileSecretStore implements SecretStore {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  get(ref: SecretRef): string {
    const v = this.lookup(ref);
    if (v === undefined || v === '') throw new MissingSecretError(ref);
    return v;
  }

  has(ref: SecretRef): boolean {
    const v = this.lookup(ref);
    return v !== undefined && v !== '';
  }

  private lookup(ref: SecretRef): string | undefined {
    if (ref.startsWith('env:')) return this.env[ref.slice(4)];
    if (ref.startsWith('file:')) {
      try {
        return readFileSync(ref.slice(5), 'utf8').replace(/\r?\n$/, '');
      } catch {
        return undefined;
      }
    }
    throw new Error(`unsupported secret reference scheme: ${ref.split(':')[0]}`);
  }
}

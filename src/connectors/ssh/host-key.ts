import { createHash } from 'node:crypto';

/**
 * The fingerprint of a raw SSH public key blob as `ssh-keygen -lf` prints it:
 * `SHA256:` + base64 of the SHA-256 digest, without the `=` padding.
 */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Compares two fingerprints, tolerating the optional trailing `=` some tools print. */
export function sameFingerprint(a: string, b: string): boolean {
  return a.replace(/=+$/, '') === b.replace(/=+$/, '');
}

import assert from 'node:assert/strict';
import { mkdtempSync, statSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readPeersEnvFile, writePeersEnvFile } from '../../src/sandbox/peers-env-file';

describe('peers.env (npm run peers → sandbox bots)', () => {
  it('round-trips values with newlines (the Graph CA PEM), spaces and #, owner-only; absent → undefined', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'peers-env-'));
    try {
      assert.equal(readPeersEnvFile(dir), undefined);
      const env = { SANDBOX_GRAPH_CA_PEM: '-----BEGIN CERTIFICATE-----\nMIIB+x/y=\n-----END CERTIFICATE-----\n', CONTOSO_GRAPH_SECRET: 'a b#c' };
      const file = writePeersEnvFile(dir, env);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.deepEqual(readPeersEnvFile(dir), env);
      assert.throws(() => writePeersEnvFile(dir, { 'bad name': 'x' }), /not an environment variable name/);
      assert.throws(() => writePeersEnvFile(dir, { X: 'a"b' }), /quote, backslash/);
      assert.deepEqual(readPeersEnvFile(dir), env, 'a refused write leaves the file as it was');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

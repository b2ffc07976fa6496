import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { generateSandboxTls } from '../../../src/sandbox/graph/self-signed-tls';

describe('the Graph emulator\'s throw-away CA and certificate', () => {
  // Before the fix about 1 certificate in 120 had a non-minimal serial number (invalid DER) and every
  // TLS connection to that emulator failed: MSAL reported it as endpoints_resolution_error.
  it('is valid DER every time: 2,000 pairs parse, and the CA verifies the server certificate', function () {
    this.timeout(60_000);
    for (let i = 0; i < 2000; i++) {
      const t = generateSandboxTls();
      const ca = new X509Certificate(t.caPem);
      const leaf = new X509Certificate(t.certPem);
      assert.ok(leaf.verify(ca.publicKey), `pair ${i}`);
      assert.ok(leaf.checkIP('127.0.0.1'));
      assert.equal(leaf.checkHost('localhost'), 'localhost');
    }
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshSession, hostKeyFingerprint } from '../../../src/connectors/ssh';
import { ConnectorError } from '../../../src/connectors/types';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import type { SshTarget } from '../../../src/config/customers';
import { makeHostKey, startTestSshServer, type TestSshServer } from '../../support/ssh-test-server';

const secrets = new EnvFileSecretStore({ DEV_PASSWORD: 's3cret-pass' });

describe('SshSession', () => {
  let server: TestSshServer;
  const target = (over: Partial<SshTarget> = {}): SshTarget => ({
    host: '127.0.0.1', port: server.port, username: 'ir-bot', passwordRef: 'env:DEV_PASSWORD',
    hostKeySha256: server.hostKeySha256, timeoutMs: 5000, ...over,
  });

  before(async () => {
    server = await startTestSshServer({
      username: 'ir-bot',
      password: 's3cret-pass',
      prompt: 'FGT-TEST # ',
      banner: 'Welcome to the test device\r\n',
      shell: (line) => (line === 'get system status' ? 'Version: FortiGate-60F v7.4.3\nHostname: FGT-TEST' : line === 'config firewall address' ? '' : `command parse error before '${line}'`),
      exec: (command, stdin, ch) => {
        if (command === 'cat') ch.write(stdin);
        else if (command === 'big') for (let i = 0; i < 20000; i++) ch.write(`line ${i} ${'x'.repeat(60)}\n`);
        else if (command === 'fail') { ch.stderr.write('cat: /nope: No such file or directory\n'); ch.exit(1); ch.end(); return; }
        else if (command === 'hang') return;
        else ch.write(`ran ${command}\n`);
        ch.exit(0);
        ch.end();
      },
    });
  });
  after(() => server.close());

  it('fingerprints a key blob exactly as ssh-keygen -lf prints it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssh-fp-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
      const blob = Buffer.from(readFileSync(join(dir, 'k.pub'), 'utf8').split(' ')[1], 'base64');
      const printed = execFileSync('ssh-keygen', ['-lf', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1];
      assert.equal(hostKeyFingerprint(blob), printed);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('runs commands, passes stdin, and reports exit codes', async () => {
    const s = await SshSession.open({ target: target(), secrets });
    try {
      assert.deepEqual(await s.exec('whoami'), { stdout: 'ran whoami\n', stderr: '', code: 0 });
      assert.equal((await s.exec('cat', { stdin: 'hello\n' })).stdout, 'hello\n');
      const r = await s.exec('fail');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /No such file/);
    } finally { s.close(); }
  });

  it('times out a command that never ends', async () => {
    const s = await SshSession.open({ target: target(), secrets });
    try {
      await assert.rejects(s.exec('hang', { timeoutMs: 200 }), /did not finish within 200 ms/);
    } finally { s.close(); }
  });

  it('streams a big output and surfaces a failing command as a stream error', async () => {
    const s = await SshSession.open({ target: target(), secrets });
    try {
      let bytes = 0;
      for await (const chunk of await s.execStream('big')) bytes += (chunk as Buffer).length;
      assert.equal(bytes, Array.from({ length: 20000 }, (_, i) => `line ${i} ${'x'.repeat(60)}\n`).join('').length);
      const failing = await s.execStream('fail');
      await assert.rejects(async () => { for await (const _ of failing) { /* drain */ } }, /exited with status 1: cat: \/nope/);
    } finally { s.close(); }
  });

  it('drives a device CLI: output between the echo and the prompt, modes from the prompt', async () => {
    const s = await SshSession.open({ target: target(), secrets });
    try {
      const cli = await s.cli();
      assert.equal(cli.currentPrompt, 'FGT-TEST # ');
      assert.equal(await cli.send('get system status'), 'Version: FortiGate-60F v7.4.3\nHostname: FGT-TEST');
      assert.equal(await cli.send('config firewall address'), '');
      assert.equal(await cli.send('bogus'), "command parse error before 'bogus'");
      await assert.rejects(cli.send('show\nexecute factoryreset'), /control character/);
      assert.deepEqual(cli.exchanges.map((e) => e.command), ['get system status', 'config firewall address', 'bogus']);
    } finally { s.close(); }
  });

  it('refuses a host whose key does not match the pinned fingerprint, before logging in', async () => {
    const other = makeHostKey().sha256;
    const before = server.connections;
    await assert.rejects(SshSession.open({ target: target({ hostKeySha256: other }), secrets }), (e: unknown) => {
      assert.ok(e instanceof ConnectorError);
      assert.equal(e.message, `host key mismatch for 127.0.0.1:${server.port}: expected ${other}, got ${server.hostKeySha256}`);
      return true;
    });
    assert.equal(server.connections, before + 1); // it connected at TCP level, then refused
  });

  it('names the secret reference, never the secret, when login fails', async () => {
    const wrong = new EnvFileSecretStore({ DEV_PASSWORD: 'not-it' });
    await assert.rejects(SshSession.open({ target: target(), secrets: wrong }), (e: Error) => {
      assert.match(e.message, /refused: check the credential behind env:DEV_PASSWORD/);
      assert.doesNotMatch(e.message, /not-it/);
      return true;
    });
    await assert.rejects(SshSession.open({ target: target({ passwordRef: 'env:MISSING' }), secrets }), /secret env:MISSING is not set/);
  });
});

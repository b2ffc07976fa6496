import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { ConnectorError } from '../../../src/connectors/types';
import { InvalidInputError } from '../../../src/domain/net';
import { sendMailViaSmtp, smtpTransportOptions, type SmtpMailConfig } from '../../../src/connectors/mail/smtp';
import type { OutgoingMail } from '../../../src/connectors/mail/message';
import { CONTOSO } from '../../../src/sandbox/contoso';

interface Received { from: string; to: string[]; raw: string; user?: string; secure: boolean }

/** A real SMTP listener on an ephemeral loopback port that keeps every message it accepts. */
async function startSmtp(extra: Partial<SMTPServerOptions> = {}): Promise<{ port: number; received: Received[]; connections: number; close(): Promise<void> }> {
  const received: Received[] = [];
  const counter = { connections: 0 };
  const server = new SMTPServer({
    logger: false,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    onConnect(_session, cb) {
      counter.connections++;
      cb();
    },
    onAuth(auth, _session, cb) {
      if (auth.username === 'soc-relay' && auth.password === 'relay-Pa55') cb(null, { user: auth.username });
      else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, cb) {
      if (address.address.startsWith('nobody@')) cb(Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }));
      else cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          user: session.user as string | undefined,
          secure: session.secure,
        });
        cb(null, 'OK: queued as 4Xq2');
      });
    },
    ...extra,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    get connections() { return counter.connections; },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const secrets = new EnvFileSecretStore({ SMTP_USER: 'soc-relay', SMTP_PASSWORD: 'relay-Pa55', BAD_PASSWORD: 'nope' });
const config = (port: number, over: Partial<SmtpMailConfig> = {}): SmtpMailConfig => ({
  via: 'smtp', host: '127.0.0.1', port, secure: false, usernameRef: 'env:SMTP_USER', passwordRef: 'env:SMTP_PASSWORD', from: 'soc@msp.example', ...over,
});
const report = Buffer.from('# Forensic report IR-20261127-7K3Q\n\nAccount disabled at 08:55 UTC.\n');
const mail = (over: Partial<OutgoingMail> = {}): OutgoingMail => ({
  subject: 'Contoso: account compromise contained (IR-20261127-7K3Q)',
  bodyText: 'Dear Nestor,\n\nadele.vance@contoso.com was contained at 08:55 UTC.\n\nThe SOC',
  to: [CONTOSO.contacts.ciso.email],
  cc: [CONTOSO.contacts.onCall.email],
  attachments: [{ filename: 'IR-20261127-7K3Q-report.md', contentType: 'text/markdown', content: report }],
  ...over,
});

function header(raw: string, name: string): string | undefined {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  return head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.slice(name.length + 1).trim();
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected the call to fail');
}

describe('sendMailViaSmtp', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  beforeEach(async () => { smtp = await startSmtp(); });
  afterEach(async () => { await smtp.close(); });

  it('delivers the mail with auth: subject, recipients, body and the attachment arrive', async () => {
    const res = await sendMailViaSmtp(config(smtp.port), mail(), secrets);
    assert.equal(smtp.received.length, 1);
    const got = smtp.received[0];
    assert.equal(got.user, 'soc-relay');
    assert.equal(got.from, 'soc@msp.example');
    assert.deepEqual(got.to, ['ciso@contoso.com', 'oncall@contoso.com']);
    assert.equal(header(got.raw, 'Subject'), 'Contoso: account compromise contained (IR-20261127-7K3Q)');
    assert.equal(header(got.raw, 'To'), 'ciso@contoso.com');
    assert.equal(header(got.raw, 'Cc'), 'oncall@contoso.com');
    assert.equal(header(got.raw, 'Message-ID'), res.messageId);
    assert.ok(got.raw.includes('adele.vance@contoso.com was contained at 08:55 UTC.'));
    assert.ok(got.raw.includes('filename=IR-20261127-7K3Q-report.md'));
    assert.ok(got.raw.includes(report.toString('base64').slice(0, 60)), 'the report travels base64-encoded');

    assert.deepEqual(res.accepted, ['ciso@contoso.com', 'oncall@contoso.com']);
    assert.deepEqual(res.rejected, []);
    const ev = JSON.parse(res.raw.body.toString('utf8')) as { response: string; message: { sha256: string; headers: string }; envelope: { to: string[] } };
    assert.match(ev.response, /^250 OK: queued as 4Xq2/);
    assert.match(ev.message.headers, /^Subject: Contoso: account compromise contained/m);
    assert.ok(!res.raw.body.toString('utf8').includes('relay-Pa55'), 'the password is not in the evidence');
    assert.equal(res.raw.source, 'smtp.send');
  });

  it('refuses CR/LF in the subject with a clear error and sends nothing', async () => {
    const err = await rejection(sendMailViaSmtp(config(smtp.port), mail({ subject: 'Contained\r\nBcc: attacker@evil.example' }), secrets));
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /^subject: contains a line break \(CR\/LF\), which would start a new mail header/);
    assert.equal(smtp.connections, 0, 'no SMTP connection was even opened');
    assert.equal(smtp.received.length, 0);
  });

  for (const bad of ['ciso@contoso.com\r\nBcc: x@evil.example', 'Nestor <ciso@contoso.com>', '"a b"@contoso.com', 'ciso@contoso', 'ciso@@contoso.com', 'ciso@contoso.com,x@evil.example']) {
    it(`refuses the address ${JSON.stringify(bad)} and sends nothing`, async () => {
      const err = await rejection(sendMailViaSmtp(config(smtp.port), mail({ cc: [bad] }), secrets));
      assert.ok(err instanceof InvalidInputError);
      assert.equal(err.field, 'cc[0]');
      assert.equal(smtp.connections, 0);
    });
  }

  it('reports a recipient the server refuses, and still delivers to the others', async () => {
    const res = await sendMailViaSmtp(config(smtp.port), mail({ cc: ['nobody@contoso.com'] }), secrets);
    assert.deepEqual(res.accepted, ['ciso@contoso.com']);
    assert.deepEqual(res.rejected, ['nobody@contoso.com']);
    assert.deepEqual(smtp.received[0].to, ['ciso@contoso.com']);
  });

  it('wrong credentials: names the secret references, never the values', async () => {
    const err = await rejection(sendMailViaSmtp(config(smtp.port, { passwordRef: 'env:BAD_PASSWORD' }), mail(), secrets));
    assert.ok(err instanceof ConnectorError);
    assert.match(err.message, /rejected the credentials: check the secrets env:SMTP_USER and env:BAD_PASSWORD/);
    assert.ok(!err.message.includes('nope'));
    assert.equal(err.retryable, false);
    assert.equal(smtp.received.length, 0);
  });

  it('a server that is not there is a retryable error', async () => {
    const port = smtp.port;
    await smtp.close();
    smtp = await startSmtp(); // so afterEach has something to close
    const err = await rejection(sendMailViaSmtp(config(port), mail(), secrets, { timeoutMs: 2000 }));
    assert.ok(err instanceof ConnectorError);
    assert.equal(err.retryable, true);
    assert.match(err.message, /could not be reached/);
  });
});

describe('sendMailViaSmtp over STARTTLS', () => {
  let dir: string;
  let cert: Buffer;
  let key: Buffer;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mail-smtp-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'));
    key = readFileSync(join(dir, 'key.pem'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('upgrades with STARTTLS when offered, verifying the certificate', async () => {
    const smtp = await startSmtp({ disabledCommands: [], allowInsecureAuth: false, key, cert });
    try {
      await sendMailViaSmtp(config(smtp.port), mail(), secrets, { ca: cert });
      assert.equal(smtp.received.length, 1);
      assert.equal(smtp.received[0].secure, true);
    } finally {
      await smtp.close();
    }
  });

  it('refuses a certificate it cannot verify, and delivers nothing', async () => {
    const smtp = await startSmtp({ disabledCommands: [], allowInsecureAuth: false, key, cert });
    try {
      const err = await rejection(sendMailViaSmtp(config(smtp.port), mail(), secrets));
      assert.ok(err instanceof ConnectorError);
      assert.match(err.message, /TLS failed/);
      assert.equal(err.retryable, false);
      assert.equal(smtp.received.length, 0);
    } finally {
      await smtp.close();
    }
  });
});

describe('smtpTransportOptions', () => {
  it('requires STARTTLS for a remote relay, and verifies certificates always', () => {
    const o = smtpTransportOptions(config(587, { host: 'smtp.contoso.com' }), secrets);
    assert.equal(o.requireTLS, true);
    assert.equal(o.secure, false);
    assert.equal((o.tls as { rejectUnauthorized?: boolean }).rejectUnauthorized, true);
    assert.equal((o.tls as { servername?: string }).servername, 'smtp.contoso.com');
  });
  it('allows opportunistic STARTTLS on loopback only, and implicit TLS when secure', () => {
    assert.equal(smtpTransportOptions(config(25), secrets).requireTLS, false);
    const s = smtpTransportOptions(config(465, { host: 'smtp.contoso.com', secure: true }), secrets);
    assert.equal(s.secure, true);
    assert.equal(s.requireTLS, false);
  });
  it('refuses half a credential', () => {
    assert.throws(() => smtpTransportOptions(config(25, { passwordRef: undefined }), secrets), /both usernameRef and passwordRef/);
  });
});

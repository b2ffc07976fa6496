import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsMaterial {
  caPem: string;
  caKeyFile: string;
  caFile: string;
  keyFile?: string;
  certFile?: string;
}

/**
 * A private CA made with openssl (2048-bit: Samba's own first start makes a 4096-bit key, 2–8 s).
 * The sandbox DC's certificate is issued by it; tests make a second one to play a DC that presents
 * another certificate.
 */
export async function generateCa(dir: string, commonName: string): Promise<TlsMaterial> {
  await mkdir(dir, { recursive: true });
  const caKeyFile = join(dir, 'ca-key.pem');
  const caFile = join(dir, 'ca.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKeyFile, '-out', caFile,
    '-days', '3650', '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await chmod(caKeyFile, 0o600);
  return { caPem: await readFile(caFile, 'utf8'), caKeyFile, caFile };
}

/** A server certificate for `hostName` issued by the CA (name in CN and subjectAltName). Key mode 0600, or Samba refuses it. */
export async function issueServerCertificate(ca: TlsMaterial, dir: string, hostName: string): Promise<Required<TlsMaterial>> {
  if (!/^[A-Za-z0-9.\-]+$/.test(hostName)) throw new Error(`not a host name: ${hostName}`);
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const csr = join(dir, 'server.csr');
  const ext = join(dir, 'server.ext');
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${hostName}`]);
  await writeFile(ext, `subjectAltName=DNS:${hostName}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.caFile, '-CAkey', ca.caKeyFile, '-CAcreateserial',
    '-out', certFile, '-days', '825', '-extfile', ext]);
  await chmod(keyFile, 0o600);
  return { ...ca, keyFile, certFile };
}

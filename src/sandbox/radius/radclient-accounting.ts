import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Sends Accounting-Requests with radclient, as a NAS does (RFC 2866), so that FreeRADIUS as the
 * accounting server writes them to its detail files. Each record is a list of `Name = value` lines
 * written by our own code (never from an alert). The secret goes through a private file (-S).
 */
export async function sendAccounting(port: number, secret: string, records: string[][], host = '127.0.0.1'): Promise<string> {
  const input = records.map((r) => `${r.join('\n')}\n`).join('\n');
  const dir = await mkdtemp(join(tmpdir(), 'radclient-'));
  const secretFile = join(dir, 'secret');
  await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
  try {
    return await new Promise<string>((resolve, reject) => {
      const child = execFile('radclient', ['-x', '-r', '3', '-t', '2', '-S', secretFile, `${host}:${port}`, 'acct'], { encoding: 'utf8' }, (err, stdout, stderr) => {
        const answered = (stdout.match(/Received Accounting-Response/g) ?? []).length;
        if (answered === records.length) resolve(stdout);
        else reject(new Error(`the accounting server answered ${answered} of ${records.length} Accounting-Requests${err ? ` (${(stderr || err.message).trim().split('\n')[0]})` : ''}`));
      });
      child.stdin?.end(input);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

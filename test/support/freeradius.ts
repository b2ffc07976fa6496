import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startFreeRadius, type FreeRadiusInstance, type FreeRadiusOptions } from '../../src/sandbox/radius/freeradius-instance';

export { startFreeRadius, type FreeRadiusInstance, type FreeRadiusOptions };

const run = promisify(execFile);

/**
 * Sends Accounting-Requests with radclient (the NAS side of RFC 2866) so that FreeRADIUS, as the
 * accounting server, writes them to its detail files. Each record is a list of `Name = value` lines.
 */
export async function sendAccounting(port: number, secret: string, records: string[][]): Promise<string> {
  const input = records.map((r) => `${r.join('\n')}\n`).join('\n');
  const child = run('radclient', ['-x', '-r', '3', '-t', '2', `127.0.0.1:${port}`, 'acct', secret], { encoding: 'utf8' });
  child.child.stdin?.end(input);
  const { stdout } = await child;
  const answered = (stdout.match(/Received Accounting-Response/g) ?? []).length;
  if (answered !== records.length) throw new Error(`accounting server answered ${answered} of ${records.length}: ${stdout}`);
  return stdout;
}

import assert from 'node:assert/strict';
import { mkdtemp, mkdir, copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { parseDetailStream, type DetailRecord } from '../../../src/connectors/radius/accounting/detail-parser';
import { localDetailSource, readDetailAccounting, daysCovering } from '../../../src/connectors/radius/accounting/detail-accounting';
import { parseRadiusString } from '../../../src/connectors/radius/radius-string';

const FIXTURE = join(__dirname, '../../fixtures/radius/detail-20261126');
const NOW = new Date('2026-11-27T00:05:00Z');
const WINDOW = { from: new Date(NOW.getTime() - 24 * 3_600_000), to: NOW };

async function collect(chunks: Array<Buffer | string>): Promise<DetailRecord[]> {
  const out: DetailRecord[] = [];
  for await (const r of parseDetailStream((async function* () { yield* chunks; })())) out.push(r);
  return out;
}

describe('radius detail files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'radius-detail-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses records: header, unescaped values, Timestamp, and the raw text', async () => {
    const records = await collect([await readFile(FIXTURE)]);
    assert.equal(records.length, 8);
    assert.equal(records[0].dateLine, 'Thu Nov 26 08:00:00 2026');
    assert.equal(records[0].timestamp, 1795680000);
    assert.deepEqual(records[0].attributes.find(([k]) => k === 'User-Name'), ['User-Name', 'adele.vance@contoso.com']);
    const s1002 = records[4];
    assert.equal(new Map(s1002.attributes).get('NAS-Identifier'), 'sgp-vpn "edge"\t2');
    assert.equal(new Map(s1002.attributes).get('Class'), 'ABé');
    assert.ok(s1002.raw.startsWith('Thu Nov 26 23:55:00 2026\n\tAcct-Status-Type = Start\n'));
    assert.ok(s1002.raw.endsWith('\tTimestamp = 1795737300\n\n'));
    // the last record was cut mid-write: no Timestamp
    assert.equal(records[7].timestamp, undefined);
  });

  it('gives the same records whatever the chunk boundaries (even inside a UTF-8 character)', async () => {
    const bytes = await readFile(FIXTURE);
    const whole = await collect([bytes]);
    await fc.assert(fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }), async (cuts) => {
      const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
      const chunks = points.slice(1).map((p, i) => bytes.subarray(points[i], p));
      assert.deepEqual(await collect(chunks), whole);
    }), { numRuns: 200 });
  });

  it('folds Start / Interim-Update / Stop / Accounting-On into the user\'s sessions', async () => {
    const client = join(dir, 'radacct', '10.20.0.9');
    await mkdir(client, { recursive: true });
    await copyFile(FIXTURE, join(client, 'detail-20261126'));
    // an old file outside the window must not be read, and another user's file holds nothing of adele's
    await writeFile(join(client, 'detail-20261101'), 'Sun Nov  1 00:00:00 2026\n\tUser-Name = "adele.vance@contoso.com"\n\tAcct-Status-Type = Start\n\tAcct-Session-Id = "OLD"\n\tTimestamp = 1793491200\n\n');
    const { report, raw, stats } = await readDetailAccounting(localDetailSource(join(dir, 'radacct')), parseRadiusString('adele.vance@contoso.com', 'user'), WINDOW, () => NOW);
    assert.equal(stats.files, 1);
    assert.deepEqual(report.sessions.map((s) => [s.acctSessionId, s.active]), [['S-1002', true], ['S-1001', true], ['S-0500', false], ['S-0990', false]]);
    const [s1002, s1001, s0500, s0990] = report.sessions;
    assert.equal(s1002.nasIp, '10.20.0.9', 'no NAS-IP-Address: the client directory names the NAS');
    assert.equal(s1002.nasIdentifier, 'sgp-vpn "edge"\t2');
    assert.equal(s1002.startedAt, '2026-11-26T23:55:00.000Z');
    assert.equal(s1001.userName, 'ADELE.VANCE@contoso.com', 'the NAS\'s own spelling is kept for the Disconnect-Request');
    assert.equal(s1001.lastUpdateAt, '2026-11-26T23:50:00.000Z', 'Timestamp less Acct-Delay-Time');
    assert.equal(s1001.startedAt, '2026-11-26T23:00:00.000Z', 'derived from Acct-Session-Time');
    assert.equal(s1001.framedIp, '10.99.0.77');
    assert.equal(s1001.callingStationId, '203.0.113.7');
    assert.equal(s1001.inputOctets, 4096, 'the cut-off record is ignored');
    assert.equal(s0500.terminateCause, 'NAS-Reboot (Accounting-On)');
    assert.equal(s0500.stoppedAt, '2026-11-26T23:59:00.000Z');
    assert.equal(s0990.startedAt, '2026-11-26T08:00:00.000Z');
    assert.equal(s0990.stoppedAt, '2026-11-26T12:30:00.000Z');
    assert.equal(s0990.inputOctets, 2 ** 32 + 1000, 'Acct-Input-Gigawords counts 2^32 octets');
    assert.equal(s0990.outputOctets, 2000);
    assert.equal(s0990.terminateCause, 'User-Request');
    assert.deepEqual(report.active.map((s) => s.acctSessionId), ['S-1002', 'S-1001']);
    assert.equal(raw[0].recordCount, 5);
    assert.equal(raw[0].rangeFrom, '2026-11-26T08:00:00.000Z');
    assert.equal(raw[0].rangeTo, '2026-11-26T23:58:00.000Z');
    assert.ok(!raw[0].body.toString().includes('megan'), 'other users\' records stay out of the evidence');
  });

  it('reads gzip-compressed rotations', async () => {
    const client = join(dir, 'gz', '10.20.0.9');
    await mkdir(client, { recursive: true });
    await writeFile(join(client, 'detail-20261126.gz'), gzipSync(await readFile(FIXTURE)));
    const { report } = await readDetailAccounting(localDetailSource(join(dir, 'gz')), parseRadiusString('adele.vance@contoso.com', 'user'), WINDOW, () => NOW);
    assert.equal(report.active.length, 2);
  });

  it('matches a DOMAIN\\user name written with FreeRADIUS escapes, in a CRLF-terminated file', async () => {
    const client = join(dir, 'escaped', '10.20.0.9');
    await mkdir(client, { recursive: true });
    const rec = (sid: string, user: string, ts: number) => `Thu Nov 26 20:00:00 2026\r\n\tAcct-Status-Type = Start\r\n\tUser-Name = "${user}"\r\n\tAcct-Session-Id = "${sid}"\r\n\tTimestamp = ${ts}\r\n\r\n`;
    await writeFile(join(client, 'detail-20261126'), rec('S-1', 'CONTOSO\\\\adele', 1795723200) + rec('S-2', 'CONTOSO\\\\megan', 1795723201) + rec('S-3', 'contoso\\\\ADELE', 1795723202));
    const { report } = await readDetailAccounting(localDetailSource(join(dir, 'escaped')), parseRadiusString('CONTOSO\\adele', 'user'), WINDOW, () => NOW);
    assert.deepEqual(report.sessions.map((s) => [s.acctSessionId, s.userName]), [['S-3', 'contoso\\ADELE'], ['S-1', 'CONTOSO\\adele']]);
  });

  it('covers the window with the neighbouring days (rotation follows the server\'s local time)', () => {
    assert.deepEqual([...daysCovering(new Date('2026-11-26T00:05:00Z'), new Date('2026-11-27T00:05:00Z'))], ['20261125', '20261126', '20261127', '20261128']);
  });
});

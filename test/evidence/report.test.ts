import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import MarkdownIt from 'markdown-it';
import { generateReport, storeReport, writeReport, latestReport, REPORT_SOURCE } from '../../src/evidence/report';
import type { Store } from '../../src/store/store';
import { twoCustomers } from '../support/customers-fixture';
import { withEvidenceStores } from './helpers';
import { HOSTILE, graphPage, seedIncident, signIn } from './seed-incident';

const customers = twoCustomers();
const lookup = (id: string) => customers.customers.find((c) => c.id === id);
const NOW = new Date('2026-11-27T15:30:00.000Z');

async function collect(it: AsyncIterable<string>): Promise<string> {
  const parts: string[] = [];
  for await (const p of it) parts.push(p);
  return parts.join('');
}

describe('evidence: forensic report', function () {
  this.timeout(60_000);
  withEvidenceStores((db) => {
    let store: Store;
    before(async () => { store = await db().make(); });

    it('has every section, each payload with the SHA-256 of its stored bytes, and ends with the chain head', async () => {
      const seeded = await seedIncident(store);
      const md = await collect(generateReport(store, seeded.incidentId, { customers: lookup, now: NOW }));
      for (const heading of ['# Forensic report', '## Summary', '### What happened', '### What was done', '### What is left', '## Timeline (UTC)',
        '### Entra sign-ins (24 h)', '### Entra directory audits', '### Microsoft 365 audit', '### RADIUS accounting', '### Firewall sessions',
        '### Containment and follow-up actions', '### Other evidence', '## Hash chain']) {
        assert.ok(md.includes(`\n${heading}`) || md.startsWith(heading), `section ${heading}`);
      }
      for (const e of seeded.evidence) {
        const body = await store.getEvidenceBody(e.id);
        const sha = createHash('sha256').update(body).digest('hex');
        assert.equal(e.sha256, sha);
        assert.ok(md.includes(sha), `the report carries the hash of #${e.id} ${e.source}`);
      }
      const timeline = await store.listTimeline(seeded.incidentId);
      const head = timeline.at(-1)!;
      const lastLine = md.trimEnd().split('\n').at(-1)!;
      assert.match(lastLine, new RegExp(`^Chain head: event ${head.seq} of ${head.seq}, .*${head.hash}`));
      for (const e of timeline) assert.ok(md.includes(e.hash), `timeline event ${e.seq} listed with its hash`);
      // Counts come from the bytes: 120 sign-ins over three pages, the eight detail records of the fixture, the approver named.
      assert.match(md, /#### `graph\.signIns`: 120 records in 3 payload\(s\)/);
      assert.match(md, /#### `radius\.accounting\.detail`: 8 records in 1 payload/);
      assert.match(md, /Analysts involved \| `Alex Wilber`/);
      assert.match(md, /Generated at \| 2026-11-27 15:30:00 UTC/);
      // The firewall listing is under firewall sessions, the block transcript under the actions.
      const fwSessions = md.slice(md.indexOf('### Firewall sessions'), md.indexOf('### Containment and follow-up actions'));
      assert.match(fwSessions, /get vpn ssl monitor/);
      const actions = md.slice(md.indexOf('### Containment and follow-up actions'), md.indexOf('### Other evidence'));
      assert.match(actions, /Disconnect-ACK/);
      assert.match(actions, /Approval `[^`]+`: approved.*`Alex Wilber` approved/);
      const other = md.slice(md.indexOf('### Other evidence'), md.indexOf('## Hash chain'));
      assert.match(other, /`acme\.widget`/);
      assert.match(other, /```hex\n00000000  00 01 02 60 60 60 ff\n```/);
    });

    it('leaves hostile strings inert: no link, no HTML, no emphasis once rendered', async () => {
      const seeded = await seedIncident(store);
      const md = await collect(generateReport(store, seeded.incidentId, { customers: lookup, now: NOW }));
      const html = new MarkdownIt({ html: true, linkify: true }).render(md);
      assert.doesNotMatch(html, /<a\s/i, 'no link');
      assert.doesNotMatch(html, /<(script|img)\b/i, 'no raw HTML');
      assert.doesNotMatch(html, /<strong>bold/, 'no emphasis from data');
      assert.ok(html.includes('&lt;script&gt;alert(2)&lt;/script&gt;'), 'the title is shown, escaped');
      assert.ok(html.includes('&lt;img src=x onerror=alert(3)&gt;'), 'the sign-in app name is shown, escaped');
      // The CLI transcript with ``` inside stays one code block, and the terminal escape is made visible.
      assert.ok(html.includes('&lt;a href=&quot;https://evil.example&quot;&gt;pwn&lt;/a&gt;'));
      assert.ok(md.includes('\\u001b[31mred'));
      assert.doesNotMatch(md, /\u001b/);
    });

    it('summarises a large source: first 50 and last 10 records, the count from the bytes, across chunk boundaries', async () => {
      const seeded = await seedIncident(store, { signInPages: [1000, 1000, 700] });
      // One more payload streamed in odd-sized pieces, bigger than a store chunk (1 MiB).
      const values = Array.from({ length: 1500 }, (_, i) => signIn(10_000 + i));
      const big = graphPage(values);
      assert.ok(big.length > 1024 * 1024);
      await store.putEvidenceStream({ incidentId: seeded.incidentId, actionId: null, source: 'graph.signIns', contentType: 'application/json', collectedAt: NOW.toISOString(), rangeFrom: null, rangeTo: null, recordCount: 1500, note: 'page 4' },
        (async function* () { for (let i = 0; i < big.length; i += 77_777) yield big.subarray(i, i + 77_777); })());
      const md = await collect(generateReport(store, seeded.incidentId, { customers: lookup, now: NOW }));
      const section = md.slice(md.indexOf('#### `graph.signIns`'), md.indexOf('### Entra directory audits'));
      assert.match(section, /: 4,200 records in 4 payload\(s\)/);
      assert.match(section, /First 50 of 4,200 records:/);
      assert.match(section, /Last 10 records:/);
      assert.ok(section.includes('| 1 | `2026-11-26T12:00:00.000Z`'), 'first record first');
      assert.ok(section.includes(`| 4200 | \`${String(values.at(-1)!.createdDateTime)}\``), 'last record last');
      assert.ok(!section.includes('| 51 |'), 'the middle is not pasted');
      assert.ok(md.length < 200_000, `the report stays small (${md.length} chars)`);
    });

    it('stores itself as report.markdown byte for byte, and writes the same bytes to a stream', async () => {
      const seeded = await seedIncident(store);
      const stored = await storeReport(store, seeded.incidentId, { customers: lookup, now: NOW });
      assert.equal(stored.evidence.source, REPORT_SOURCE);
      assert.equal(stored.name, `${seeded.incidentId}-forensic-report.md`);
      const bytes = await store.getEvidenceBody(stored.evidence.id);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), stored.evidence.sha256);
      assert.match(bytes.toString('utf8'), /## Hash chain/);
      assert.equal((await latestReport(store, seeded.incidentId))?.id, stored.evidence.id);

      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      await writeReport(store, seeded.incidentId, { customers: lookup, now: NOW }, out);
      const again = Buffer.concat(chunks).toString('utf8');
      // The second report lists the first one under "Earlier reports", otherwise it says the same.
      assert.match(again, /### Earlier reports/);
      assert.ok(again.includes(stored.evidence.sha256));
    });

    it('refuses an unknown incident', async () => {
      await assert.rejects(collect(generateReport(store, 'IR-NOPE', { customers: lookup, now: NOW })), /does not exist/);
    });
  });
});

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { log, setLogDestination } from '../../src/log';
import { readableLogStream } from '../../src/sandbox/readable-logs';

/** The sandbox's terminal shows readable lines; the logger itself (and production) writes JSON. */
describe('sandbox log lines', () => {
  const capture = () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => { text += c.toString(); });
    return { out, text: () => text };
  };

  it('writes JSON through the process logger until the sandbox swaps in the readable printer', () => {
    const json = capture();
    const readable = capture();
    const level = log.level;
    log.level = 'info';
    const previous = setLogDestination(json.out);
    try {
      log.info({ port: 3978, password: 'hunter2-hunter2' }, 'teams-ir-bot listening');
      setLogDestination(readableLogStream(readable.out, false));
      log.warn({ customer: 'contoso' }, 'SANDBOX MODE');
    } finally {
      setLogDestination(previous);
      log.level = level;
    }
    const entry = JSON.parse(json.text().trim()) as Record<string, unknown>;
    assert.equal(entry.msg, 'teams-ir-bot listening');
    assert.equal(entry.port, 3978);
    assert.equal(entry.password, '[redacted]');
    const lines = readable.text().trim().split('\n');
    assert.equal(lines.length, 1, 'one line per entry');
    assert.match(lines[0], /^\[\d\d:\d\d:\d\d\] WARN: SANDBOX MODE \{"customer":"contoso"\}$/);
  });
});

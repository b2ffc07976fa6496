import { StringDecoder } from 'node:string_decoder';

/**
 * A streaming reader of FreeRADIUS detail files: a date line, tab-indented `Attribute = value`
 * lines, `\tTimestamp = <epoch>`, a blank line. Reads chunk by chunk and holds at most one record
 * and one partial line in memory, whatever the file size.
 */

export interface DetailRecord {
  /** the header line as written (`Fri Nov 27 21:16:04 2026`, server local time) */
  dateLine: string;
  /** attributes in file order, values unquoted and unescaped */
  attributes: Array<[name: string, value: string]>;
  /** the `Timestamp` epoch (seconds) the server wrote, when present */
  timestamp?: number;
  /** the record exactly as it appeared in the file, with its terminating blank line */
  raw: string;
}

export interface DetailParseStats {
  records: number;
  /** lines that were neither a header, an attribute, nor blank (corruption, a cut write) */
  skippedLines: number;
}

/**
 * Yields each record that passes `prefilter` (a cheap test on the record's raw text, so a big file
 * of other users' records costs little) and then `keep` (on its attribute lines); both default to
 * every record. A prefilter must accept every record it cannot rule out: it sees escaped text.
 */
export async function* parseDetailStream(
  input: AsyncIterable<Buffer | string>,
  opts: { prefilter?: (recordText: string) => boolean; keep?: (lines: string[]) => boolean; stats?: DetailParseStats } = {},
): AsyncGenerator<DetailRecord> {
  const decoder = new StringDecoder('utf8');
  const stats = opts.stats ?? { records: 0, skippedLines: 0 };
  let partial = '';
  let header: string | undefined;
  let lines: string[] = [];

  const close = (): DetailRecord | undefined => {
    if (header === undefined) return undefined;
    const h = header;
    const l = lines;
    header = undefined;
    lines = [];
    stats.records++;
    if (opts.keep && !opts.keep(l)) return undefined;
    return buildRecord(h, l);
  };

  /** Line by line: the exact reading, also of damaged input (a header with no blank line before it). */
  const parseLines = function* (text: string, from: number, to: number): Generator<DetailRecord> {
    let start = from;
    while (start < to) {
      let nl = text.indexOf('\n', start);
      if (nl < 0 || nl > to) nl = to;
      let line = text.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      const first = line.charCodeAt(0);
      if (line.length === 0) {
        const r = close();
        if (r) yield r;
      } else if (first === 9 /* \t */ || first === 32) {
        if (header === undefined) stats.skippedLines++;
        else lines.push(line);
      } else {
        // A header without the blank line before it: the previous write was cut short.
        const r = close();
        if (r) yield r;
        header = line;
      }
    }
  };

  /** Whole records (up to a blank line) at a time; only those passing the prefilter are split into lines. */
  const consume = function* (text: string): Generator<DetailRecord> {
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n\n', start);
      if (end < 0) break;
      if (opts.prefilter && header === undefined && end > start && !opts.prefilter(text.slice(start, end))) {
        stats.records++;
      } else {
        yield* parseLines(text, start, end + 1);
        const r = close();
        if (r) yield r;
      }
      start = end + 2;
    }
    // No blank line for a long stretch (CRLF files, damage): fall back to lines so memory stays bounded.
    if (text.length - start > 1 << 20) {
      const lastNl = text.lastIndexOf('\n');
      if (lastNl >= start) {
        yield* parseLines(text, start, lastNl + 1);
        start = lastNl + 1;
      }
    }
    partial = text.slice(start);
  };

  for await (const chunk of input) {
    const text = partial + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    yield* consume(text);
  }
  const rest = partial + decoder.end();
  yield* parseLines(rest, 0, rest.length);
  const last = close();
  if (last) yield last;
}

function buildRecord(dateLine: string, lines: string[]): DetailRecord {
  const attributes: Array<[string, string]> = [];
  let timestamp: number | undefined;
  for (const line of lines) {
    const a = parseAttributeLine(line);
    if (!a) continue;
    if (a[0] === 'Timestamp' && /^\d+$/.test(a[1])) timestamp = Number(a[1]);
    else attributes.push(a);
  }
  return { dateLine, attributes, timestamp, raw: `${dateLine}\n${lines.join('\n')}\n\n` };
}

/** `\tName = value` → [name, unescaped value]; undefined for a line that is not an attribute. */
export function parseAttributeLine(line: string): [string, string] | undefined {
  const eq = line.indexOf(' = ');
  if (eq < 0) return undefined;
  const name = line.slice(0, eq).trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:\-]*$/.test(name)) return undefined;
  return [name, unquoteDetailValue(line.slice(eq + 3))];
}

/**
 * FreeRADIUS writes strings in double quotes with `\\`, `\"`, `\n`, `\r`, `\t` and `\ooo` (octal
 * byte) escapes, and everything else (integers, addresses, enum names) bare.
 */
export function unquoteDetailValue(v: string): string {
  if (v.length < 2 || v[0] !== '"' || v[v.length - 1] !== '"') return v;
  const inner = v.slice(1, -1);
  if (!inner.includes('\\')) return inner;
  const bytes: number[] = [];
  const pushText = (s: string) => { for (const b of Buffer.from(s, 'utf8')) bytes.push(b); };
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (c !== '\\' || i === inner.length - 1) { pushText(c); continue; }
    const n = inner[i + 1];
    if (/[0-7]/.test(n) && /^[0-7]{3}$/.test(inner.slice(i + 1, i + 4))) {
      bytes.push(parseInt(inner.slice(i + 1, i + 4), 8) & 0xff);
      i += 3;
      continue;
    }
    i++;
    if (n === 'n') bytes.push(10);
    else if (n === 'r') bytes.push(13);
    else if (n === 't') bytes.push(9);
    else pushText(n);
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Finds the records in a stored payload as its bytes stream past, without parsing the whole of it:
 * a busy day of accounting is a million records, and the report only needs their count, the first
 * few and the last few. Scanners cut records out as byte slices; a RecordSampler keeps the head and
 * a ring of the tail, so memory stays bounded by (head + tail) records plus one chunk.
 */

export type RecordSink = (parts: Buffer[] | null) => void;

export interface RecordScanner {
  push(chunk: Buffer): void;
  /** the stream ended; flushes a last record that has no terminator */
  end(): void;
  /** records found so far */
  readonly count: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;
const BLANK_LINE = Buffer.from('\n\n');

/** A top-level object bigger than this is counted as a record but not kept for the table. */
const MAX_TOP_OBJECT_BYTES = 4 * 1024 * 1024;

/**
 * JSON payloads in the shapes the connectors store: a top-level array (radacct rows), a Graph page
 * `{ "value": [ ... ], "@odata.nextLink": ... }` (its elements are the records), a single object
 * (one record), or several top-level values in a row (NDJSON). Records are the objects/arrays at
 * that level; scalars in a record list are not counted. Malformed JSON never throws here: the
 * counts are what could be recognised, and a record that does not parse is shown as unparsable.
 */
export class JsonRecordScanner implements RecordScanner {
  count = 0;
  private depth = 0;
  private inString = false;
  private escapePending = false;
  /** depth at which an opening bracket starts a record; -1: none at this point */
  private recordDepth = 0;
  /** a record being cut out: the pieces so far and where it starts in the current chunk */
  private recParts: Buffer[] | null = null;
  private recStart = 0;
  private recBytes = 0;
  private recTooBig = false;
  /** the current top-level value is an object that may turn out to be a Graph page */
  private topObject = false;
  private topArray = false;
  private inValueArray = false;
  private keyCapture = false;
  private keyText = '';
  private lastString = '';
  private lastKey = '';

  constructor(private readonly sink: RecordSink) {}

  push(buf: Buffer): void {
    const n = buf.length;
    let i = 0;
    if (this.inString) i = this.skipString(buf, 0);
    for (; i < n; i++) {
      const b = buf[i];
      if (b === QUOTE) {
        this.inString = true;
        this.keyCapture = this.topObject && this.depth === 1;
        if (this.keyCapture) this.keyText = '';
        i = this.skipString(buf, i + 1) - 1;
        continue;
      }
      if (b === OPEN_OBJ || b === OPEN_ARR) {
        if (this.depth === 0) {
          this.topObject = b === OPEN_OBJ;
          this.topArray = b === OPEN_ARR;
          this.recordDepth = this.topArray ? 1 : 0;
        } else if (this.topObject && this.depth === 1 && b === OPEN_ARR && this.lastKey === 'value' && !this.inValueArray) {
          // A Graph page: the object itself is an envelope, its value[] holds the records.
          this.inValueArray = true;
          this.recParts = null;
          this.recordDepth = 2;
          this.depth++;
          continue;
        }
        if (this.depth === this.recordDepth && this.recParts === null) {
          this.recParts = [];
          this.recStart = i;
          this.recBytes = 0;
          this.recTooBig = false;
        }
        this.depth++;
        continue;
      }
      if (b === CLOSE_OBJ || b === CLOSE_ARR) {
        if (this.depth === 0) continue; // stray closer: malformed, ignored
        this.depth--;
        if (this.recParts !== null && this.depth === this.recordDepth) {
          this.emit(buf, i + 1);
        }
        if (this.inValueArray && this.depth === 1) {
          this.inValueArray = false;
          this.recordDepth = -1;
        }
        if (this.depth === 0) {
          this.topObject = false;
          this.topArray = false;
          this.inValueArray = false;
          this.recordDepth = 0;
          this.lastKey = '';
        }
        continue;
      }
      if (this.topObject && this.depth === 1) {
        if (b === COLON) this.lastKey = this.lastString;
        else if (b === COMMA) this.lastKey = '';
      }
    }
    if (this.recParts !== null && !this.recTooBig) {
      const piece = buf.subarray(this.recStart);
      this.recParts.push(piece);
      this.recBytes += piece.length;
      if (this.recBytes > MAX_TOP_OBJECT_BYTES) { this.recTooBig = true; this.recParts = []; }
    }
    this.recStart = 0;
  }

  /** Skips string content from `from`; returns the index after the closing quote (or n). */
  private skipString(buf: Buffer, from: number): number {
    const n = buf.length;
    let pos = from;
    if (this.escapePending) {
      this.escapePending = false;
      if (pos < n && this.keyCapture) this.keyText += String.fromCharCode(buf[pos]);
      pos++;
    }
    const scanStart = pos;
    for (;;) {
      const q = buf.indexOf(QUOTE, pos);
      if (q < 0) {
        // The string goes on in the next chunk; an odd run of backslashes at the end escapes its first byte.
        let k = n - 1;
        while (k >= scanStart && buf[k] === BACKSLASH) k--;
        this.escapePending = (n - 1 - k) % 2 === 1;
        if (this.keyCapture && this.keyText.length < 64) this.keyText += buf.toString('latin1', scanStart, Math.min(n, scanStart + 64));
        return n;
      }
      let k = q - 1;
      while (k >= scanStart && buf[k] === BACKSLASH) k--;
      if ((q - 1 - k) % 2 === 1) { pos = q + 1; continue; }
      this.inString = false;
      if (this.keyCapture) {
        this.lastString = this.keyText + buf.toString('latin1', scanStart, Math.min(q, scanStart + 64));
        this.keyCapture = false;
      }
      return q + 1;
    }
  }

  private emit(buf: Buffer, end: number): void {
    const parts = this.recParts as Buffer[];
    this.recParts = null;
    this.count++;
    if (this.recTooBig) { this.sink(null); return; }
    parts.push(buf.subarray(this.recStart, end));
    this.sink(parts);
  }

  end(): void {
    this.recParts = null;
  }
}

/**
 * Records separated by a delimiter: lines of a text (`\n`), or FreeRADIUS detail records (a blank
 * line, `\n\n`). Empty records (several blank lines in a row) are not counted.
 */
export class DelimitedRecordScanner implements RecordScanner {
  count = 0;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private tooBig = false;
  /** bytes of a delimiter begun at the end of the previous chunk */
  private carry = 0;

  constructor(private readonly sink: RecordSink, private readonly delimiter: '\n' | '\n\n', private readonly maxRecordBytes = 1024 * 1024) {}

  push(buf: Buffer): void {
    let start = 0;
    if (this.delimiter === '\n\n' && this.carry === 1 && buf.length > 0 && buf[0] === 0x0a) {
      // "\n" ended the last chunk and "\n" starts this one: the record ended there.
      this.flush();
      start = 1;
    }
    this.carry = 0;
    const step = this.delimiter.length;
    let pos = start;
    for (;;) {
      const j = step === 1 ? buf.indexOf(0x0a, pos) : buf.indexOf(BLANK_LINE, pos);
      if (j < 0) break;
      this.add(buf.subarray(pos, j));
      this.flush();
      pos = j + step;
    }
    if (pos < buf.length) {
      this.add(buf.subarray(pos));
      if (this.delimiter === '\n\n' && buf[buf.length - 1] === 0x0a) this.carry = 1;
    }
  }

  private add(piece: Buffer): void {
    if (piece.length === 0) return;
    this.partBytes += piece.length;
    if (this.tooBig) return;
    if (this.partBytes > this.maxRecordBytes) { this.tooBig = true; this.parts = []; return; }
    this.parts.push(piece);
  }

  private flush(): void {
    if (this.partBytes === 0) return;
    // A record that is only whitespace (a stray "\r" or blank lines) is not a record.
    const blank = !this.tooBig && this.partBytes <= 16 && /^\s*$/.test(Buffer.concat(this.parts).toString('latin1'));
    if (!blank) {
      this.count++;
      this.sink(this.tooBig ? null : this.parts);
    }
    this.parts = [];
    this.partBytes = 0;
    this.tooBig = false;
  }

  end(): void {
    this.flush();
  }
}

/**
 * The first `headSize` records and the last `tailSize` after them, across one or more payloads
 * of the same source. Head records are copied as they come; tail records are kept as views of the
 * current chunk and copied only when the chunk is about to be released (`settle()`), so a million
 * records cost a million small view objects and at most `tailSize` copies per chunk.
 */
export class RecordSampler {
  total = 0;
  /** records seen but too large to keep (counted only) */
  oversized = 0;
  readonly head: Array<Buffer | null> = [];
  private readonly ring: Array<{ parts: Buffer[] | null; index: number; settled: boolean }> = [];
  private ringNext = 0;

  constructor(readonly headSize: number, readonly tailSize: number) {}

  readonly sink: RecordSink = (parts) => {
    const index = this.total++;
    if (parts === null) this.oversized++;
    if (this.head.length < this.headSize) {
      this.head.push(parts === null ? null : Buffer.concat(parts));
      return;
    }
    if (this.tailSize === 0) return;
    const entry = { parts, index, settled: false };
    if (this.ring.length < this.tailSize) this.ring.push(entry);
    else this.ring[this.ringNext] = entry;
    this.ringNext = (this.ringNext + 1) % this.tailSize;
  };

  /** Copies the tail records that still point into the chunk about to be released. */
  settle(): void {
    for (const e of this.ring) {
      if (!e.settled) {
        e.parts = e.parts === null ? null : [Buffer.concat(e.parts)];
        e.settled = true;
      }
    }
  }

  /** The tail in record order, with each record's position (0-based) in the whole sequence. */
  tail(): Array<{ index: number; bytes: Buffer | null }> {
    const ordered = this.ring.length < this.tailSize ? this.ring : [...this.ring.slice(this.ringNext), ...this.ring.slice(0, this.ringNext)];
    return ordered.map((e) => ({ index: e.index, bytes: e.parts === null ? null : Buffer.concat(e.parts) }));
  }
}

/** Parses a FreeRADIUS detail record: a date line, then `\tAttribute = value` lines. */
export function parseDetailRecord(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  let first = true;
  for (const raw of lines) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    if (first && !/^\s/.test(line)) {
      out.Date = line.trim();
      first = false;
      continue;
    }
    first = false;
    const m = /^\s*([A-Za-z0-9][A-Za-z0-9\-:._]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2].trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (!(m[1] in out)) out[m[1]] = v;
  }
  return out;
}

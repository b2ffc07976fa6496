/**
 * Markdown that stays inert whatever the data says. Every value that did not come from our own code
 * (alert titles, UPNs, Graph fields, CLI output) goes through `code()` (an inline code span) or
 * `fence()` (a fenced block): inside those, CommonMark/GFM render no links, autolinks, HTML or
 * emphasis. Plain `text()` is for our own labels and still escapes everything that could be active.
 */

/** Line breaks and other control characters made visible, so a value stays on one line. */
function visibleControls(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    switch (c) {
      case '\n': return '\\n';
      case '\r': return '\\r';
      case '\t': return '\\t';
      default: return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    }
  });
}

function longestRun(s: string, ch: string): number {
  let best = 0;
  let run = 0;
  for (const c of s) {
    run = c === ch ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

/**
 * An inline code span. The delimiter is one backtick longer than any run inside, with a space of
 * padding (stripped by renderers) so a value that starts or ends with a backtick stays intact.
 * In a GFM table cell a pipe would end the cell even inside a code span: `table: true` escapes it.
 */
export function code(value: unknown, optsOrMax: number | { max?: number; table?: boolean } = {}): string {
  const opts = typeof optsOrMax === 'number' ? { max: optsOrMax } : optsOrMax;
  let s = value === null || value === undefined ? '' : typeof value === 'string' ? value : String(value);
  const max = opts.max ?? 500;
  if (s.length > max) s = `${s.slice(0, max - 1)}…`;
  s = visibleControls(s);
  if (s === '') return '';
  if (opts.table) s = s.replace(/\|/g, '\\|');
  const fence = '`'.repeat(longestRun(s, '`') + 1);
  const pad = s.startsWith('`') || s.endsWith('`') || s.startsWith(' ') || s.endsWith(' ') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

/** A table cell holding a value: an inline code span, or an em dash when there is nothing. */
export function cell(value: unknown, max = 200): string {
  const c = code(value, { max, table: true });
  return c === '' ? '—' : c;
}

/** Our own prose: every ASCII punctuation character that Markdown could act on is escaped. */
export function text(value: string): string {
  return visibleControls(value).replace(/[\\`*_{}[\]()#+\-.!|<>&~:@=]/g, (c) => `\\${c}`);
}

/**
 * A fenced code block around untrusted text. The fence is made of more backticks than any run in
 * the content, so nothing inside can close it; control characters other than tab/newline are shown
 * as escapes (a terminal escape sequence in a CLI transcript is not replayed by a viewer).
 */
export function fence(content: string, info = 'text'): string {
  // eslint-disable-next-line no-control-regex
  const clean = content.replace(/\r\n/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => (c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  const ticks = '`'.repeat(Math.max(3, longestRun(clean, '`') + 1));
  return `${ticks}${info}\n${clean}${clean.endsWith('\n') || clean === '' ? '' : '\n'}${ticks}\n`;
}

/** A GFM table; the cells must already be escaped (cell()/plain labels). */
export function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |\n`;
  return line(headers) + line(headers.map(() => '---')) + rows.map(line).join('');
}

/** ISO time shown as UTC with seconds (and milliseconds when they are not zero). */
export function utc(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return cell(iso);
  const s = d.toISOString();
  return `${s.slice(0, 10)} ${s.endsWith('.000Z') ? s.slice(11, 19) : s.slice(11, 23)} UTC`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export const int = (n: number): string => n.toLocaleString('en-US');

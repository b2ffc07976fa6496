/**
 * Text from an alert (titles, names, UPNs) is shown in cards as inert text: never a link, a
 * mention, bold, or a template expression. Adaptive Card TextBlocks render a Markdown subset, so
 * its special characters are backslash-escaped; `<at>` is defused; length and lines are bounded.
 */
// Only what makes Markdown active is escaped (links need [ ], emphasis * _ `), so UPNs and IPs
// stay readable and copyable.
export function inert(value: unknown, max = 300): string {
  let s = typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value);
  // eslint-disable-next-line no-control-regex
  s = s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
  if (s.length > max) s = `${s.slice(0, max - 1)}…`;
  // `<at>` would become a mention in a message; in a card it is text, but keep it visibly harmless.
  s = s.replace(/</g, '‹').replace(/>/g, '›');
  return s.replace(/[\\`*_[\]]/g, (c) => `\\${c}`);
}

export function hhmm(iso: string | null | undefined): string {
  return iso ? iso.slice(11, 16) : '--:--';
}

export function utc(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : '—';
}

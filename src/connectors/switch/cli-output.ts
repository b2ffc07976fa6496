/**
 * What every switch reply goes through before a parser sees it: line ends made `\n`, pager
 * prompts left in the middle of a table taken out (with the backspaces that erase them), and the
 * vendor's error lines recognised.
 */

// IOS ` --More-- ` (then backspaces/spaces that erase it once answered); AOS-CX
// `-- MORE --, next page: Space, next line: Enter, quit: Control-C`.
const PAGERS = [
  / ?--More-- ?(?:[\b]+ *[\b]*)?/g,
  /-- MORE --, next page: Space, next line: Enter, quit: Control-C[\b \r]*/g,
];

export function cleanOutput(text: string): string {
  let out = text.replace(/\r\n?/g, '\n');
  for (const p of PAGERS) out = out.replace(p, '');
  // Any backspace left erases the character before it, as on the terminal.
  while (/[^\b\n][\b]/.test(out)) out = out.replace(/[^\b\n][\b]/g, '');
  return out.replace(/[\b]/g, '');
}

/**
 * IOS: `% Invalid input detected at '^' marker.`, `% Incomplete command.`, `% Ambiguous command: "..."`,
 * `% Unknown command or computer name, or unable to find computer address`.
 * AOS-CX: `Invalid input: foo`, `% Command incomplete.`, `Command not found.`, `Unknown command.`.
 */
const ERROR_LINES = [
  /^% ?Invalid input detected/,
  /^% ?Incomplete command/,
  /^% ?Ambiguous command/,
  /^% ?Unknown command/,
  /^% ?Bad (?:IP|interface|mac)/i,
  /^Invalid input: /,
  /^% ?Command incomplete/,
  /^Command not found/,
  /^Unknown command/,
  /^% ?Interface .* does not exist/i,
  /^Interface .* does not exist/i,
];

/** The error lines in a reply, first one first; empty when the command succeeded. */
export function switchErrorLines(output: string): string[] {
  return cleanOutput(output).split('\n').map((l) => l.trim()).filter((l) => ERROR_LINES.some((re) => re.test(l)));
}

/** `Key:  value` / `Key : value` lines of a detail block, keys as printed (trimmed). */
export function keyValues(block: string, sep: RegExp = /^\s*([^:]+?)\s*:\s?(.*)$/): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of block.split('\n')) {
    const m = sep.exec(line);
    if (m) out.push([m[1].trim(), m[2].trim()]);
  }
  return out;
}

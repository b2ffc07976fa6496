import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(__dirname, '../../fixtures/switch');

/** A real captured device output (test/fixtures/switch/SOURCES.md names where each came from). */
export function capture(vendor: 'cisco-ios' | 'aruba-aoscx', file: string): string {
  return readFileSync(join(DIR, vendor, file), 'utf8');
}

/** The first `fraction` of a capture, cut mid-line: what a dropped session leaves. */
export function truncated(text: string, fraction: number): string {
  return text.slice(0, Math.floor(text.length * fraction));
}

/** A capture with an IOS pager prompt answered in the middle of line `at`, as the terminal shows it. */
export function withIosPager(text: string, at: number): string {
  const lines = text.split('\n');
  lines[at] = ` --More-- ${'\b'.repeat(9)}${' '.repeat(9)}${'\b'.repeat(9)}${lines[at]}`;
  return lines.join('\n');
}

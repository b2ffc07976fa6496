import pino from 'pino';
import { redactionOptions, withRedactedChildren } from './log-redaction';

/**
 * Where log lines go. Production writes JSON lines to stdout (for the log collector); the sandbox
 * swaps in a readable printer (src/sandbox/readable-logs.ts) once it knows it is the sandbox. The
 * logger is created at import, before the mode is known, so it writes through this switch.
 */
let destination: { write(line: string): unknown } = pino.destination({ dest: 1, sync: true });
const switchable = { write: (line: string) => destination.write(line) };

/** Sends every later log line to `target` (a pino-pretty stream in the sandbox); returns the previous one. */
export function setLogDestination(target: { write(line: string): unknown }): { write(line: string): unknown } {
  const previous = destination;
  destination = target;
  return previous;
}

/**
 * One logger for the process. Secrets never reach it: every logged value is walked and whatever
 * names or carries a secret is redacted (./log-redaction), and connectors log references
 * (env:NAME), never resolved values.
 */
export const log = withRedactedChildren(pino({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
  ...redactionOptions,
}, switchable));
export type Logger = typeof log;

import pretty from 'pino-pretty';
import { setLogDestination } from '../log';

/** A pino-pretty printer: one readable line per log entry ("12:03:04 INFO: teams-ir-bot listening"). */
export function readableLogStream(out: NodeJS.WritableStream, colorize: boolean): { write(line: string): unknown } {
  return pretty({ destination: out, colorize, sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' });
}

/**
 * In the sandbox, a terminal shows readable lines instead of JSON. Only when stdout is a terminal:
 * a pipe (a test reading the log, a collector) keeps the JSON lines production writes.
 */
export function useReadableLogsInTerminal(): void {
  if (process.stdout.isTTY) setLogDestination(readableLogStream(process.stdout, true));
}

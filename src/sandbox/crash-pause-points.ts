import { CRASH_PAUSE_POINTS, type CrashPause, type CrashPausePoint } from '../connectors/types';
import { ConfigError } from '../config/customers';
import type { Logger } from '../log';

/**
 * The crash tests' deterministic pause: IR_CRASH_PAUSE=<point> makes the action that passes that
 * point (CRASH_PAUSE_POINTS in src/connectors/types.ts) hold there forever, after logging
 * `crash-pause: holding at <point>`, so the test can SIGKILL the bot between two calls of one
 * action — a window far too short to hit by timing.
 *
 * Only a sandbox under test may hold an action: anywhere else IR_CRASH_PAUSE is refused at start-up
 * (main.ts refuses it in production before loading anything from src/sandbox; this refuses a
 * sandbox that is not NODE_ENV=test), so a stray variable can never freeze a real containment.
 */

export const CRASH_PAUSE_VAR = 'IR_CRASH_PAUSE';

/** The log message the test waits for before it kills the process. */
export const HOLDING = 'crash-pause: holding';

export function crashPauseFromEnv(source: NodeJS.ProcessEnv, log: Pick<Logger, 'warn'>): CrashPause | undefined {
  const wanted = source[CRASH_PAUSE_VAR];
  if (!wanted) return undefined;
  if (source.IR_MODE !== 'sandbox' || source.NODE_ENV !== 'test') {
    throw new ConfigError(`${CRASH_PAUSE_VAR} is a crash-test hook: it works only with IR_MODE=sandbox and NODE_ENV=test (here IR_MODE=${source.IR_MODE ?? 'unset'}, NODE_ENV=${source.NODE_ENV ?? 'unset'}); unset it`);
  }
  if (!(CRASH_PAUSE_POINTS as readonly string[]).includes(wanted)) {
    throw new ConfigError(`${CRASH_PAUSE_VAR}=${JSON.stringify(wanted)} is not a pause point; the points are: ${CRASH_PAUSE_POINTS.join(', ')}`);
  }
  const point = wanted as CrashPausePoint;
  log.warn({ point }, `crash-pause: actions will hold at ${point} (${CRASH_PAUSE_VAR}, crash tests only)`);
  return {
    at(reached: CrashPausePoint): Promise<void> {
      if (reached !== point) return Promise.resolve();
      log.warn({ point, pid: process.pid }, `${HOLDING} at ${point}`);
      // Never settles: the process is to be killed here. The server's sockets keep it alive.
      return new Promise<void>(() => undefined);
    },
  };
}

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

// The child runs under a small shell that holds a pipe from this process on its stdin: when this
// process dies, even by SIGKILL, the pipe closes, `read` sees end-of-file and the shell ends the
// child. A TERM to the shell (our own stop()) is passed on the same way.
const WATCHDOG = [
  '"$@" </dev/null & child=$!',
  'trap \'kill "$child" 2>/dev/null\' TERM INT HUP',
  'while read -r _; do :; done',
  'kill "$child" 2>/dev/null',
  'wait "$child"',
].join('\n');

/**
 * Spawns a sandbox helper process (FreeRADIUS, the Playground) that cannot outlive the bot:
 * otherwise a crashed or killed `npm start` leaves it holding its port for the next start.
 */
export function spawnTiedToParent(command: string, args: string[], options: Omit<SpawnOptions, 'stdio'> & { stdio?: ['pipe' | 'ignore' | 'inherit', 'pipe' | 'ignore' | 'inherit'] } = {}): ChildProcess {
  const [out, err] = options.stdio ?? ['pipe', 'pipe'];
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'sh', command, ...args], { ...options, stdio: ['pipe', out, err] });
  // Never written to: it only has to stay open while we live. Errors on it (EPIPE) mean the shell is gone.
  child.stdin?.on('error', () => undefined);
  return child;
}

import type { ChildProcess } from 'node:child_process';

/**
 * A sandbox peer's process (FreeRADIUS, Samba): its recent output kept for error messages, and a
 * stop that asks with SIGTERM, waits for the exit, and kills after `killAfterMs`.
 */
export function superviseChild(child: ChildProcess, opts: { keepChars: number; killAfterMs: number }): { output(): string; stop(): Promise<void> } {
  let output = '';
  const onData = (d: Buffer) => {
    output += d.toString('utf8');
    if (output.length > opts.keepChars * 2) output = output.slice(-opts.keepChars);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
      await exited;
      clearTimeout(t);
    },
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '../..');

/**
 * The bot as production runs it: one `node --require tsx/cjs src/main.ts` process (not the `tsx`
 * CLI, which forks, so a SIGKILL here really kills the bot). Its pino log (LOG_LEVEL=info) is read
 * for the port it listens on and kept for failure messages; with LOG_LEVEL set in the test's
 * environment the child's log is also echoed to stderr.
 */
export class BotChild {
  readonly lines: string[] = [];
  port = 0;
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly proc: ChildProcess) {
    this.exit = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
    const echo = !!process.env.LOG_LEVEL;
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        this.lines.push(line);
        if (this.lines.length > 400) this.lines.shift();
        if (echo) process.stderr.write(`[bot ${proc.pid}] ${line}\n`);
      }
    };
    proc.stdout!.on('data', collect);
    proc.stderr!.on('data', collect);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  /**
   * Starts the bot and resolves once it listens (its "teams-ir-bot listening" log line). The first
   * start on a fresh machine compiles the whole import graph through tsx (no cache yet): on a busy
   * 2-core machine that was seen to take more than 30 s, hence the generous default.
   */
  static async start(env: Record<string, string>, timeoutMs = 90_000): Promise<BotChild> {
    const proc = spawn(process.execPath, ['--require', 'tsx/cjs', 'src/main.ts'], {
      cwd: REPO_ROOT,
      // At least info: the port is read from the "listening" line.
      env: { ...process.env, NODE_ENV: 'test', ...env, LOG_LEVEL: ['debug', 'trace'].includes(process.env.LOG_LEVEL ?? '') ? process.env.LOG_LEVEL! : 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = new BotChild(proc);
    const end = Date.now() + timeoutMs;
    while (!child.port) {
      for (const line of child.lines) {
        if (!line.includes('teams-ir-bot listening')) continue;
        try {
          child.port = Number((JSON.parse(line) as { port?: number }).port) || 0;
        } catch {
          /* not a JSON log line */
        }
      }
      if (child.port) break;
      if (child.exited) throw new Error(`the bot exited before listening:\n${child.tail()}`);
      if (Date.now() > end) {
        await child.kill();
        throw new Error(`the bot did not listen within ${timeoutMs} ms:\n${child.tail()}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return child;
  }

  /** SIGKILL: no shutdown hook, no lease released, nothing flushed. */
  async kill(): Promise<void> {
    if (!this.exited) this.proc.kill('SIGKILL');
    await this.exit;
  }

  /** SIGTERM (the bot's graceful shutdown), SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => { if (!this.exited) this.proc.kill('SIGKILL'); }, graceMs);
    await this.exit;
    clearTimeout(t);
  }

  /** The last log lines, for a failure message. */
  tail(n = 40): string {
    return this.lines.slice(-n).join('\n');
  }
}

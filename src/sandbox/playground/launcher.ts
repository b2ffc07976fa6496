import { spawnTiedToParent } from '../tied-child';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './config';

/**
 * Starts the Microsoft 365 Agents Playground (our local Teams) as a child process.
 *
 * Facts this relies on (@microsoft/m365agentsplayground 0.2.28):
 * - `TEAMSAPPTESTER_BROWSER=none` is required, or it tries to open a browser and exits 1 silently.
 * - `-p <port>` picks the port; if it is taken it silently falls back to a RANDOM port, so the
 *   real port is read from its stdout line `Listening on <port>`.
 * - The config file comes from `M365_AGENTS_PLAYGROUND_CONFIG_PATH` (else `./.m365agentsplayground.yml`
 *   in its cwd); on a schema error it exits 1 and swallows its own message. A preloaded
 *   `console.error` that writes straight to fd 2 brings the message back.
 * - It writes a log to `./devTools/m365agentsplayground.log` unless `M365_AGENTS_PLAYGROUND_LOGFILE`
 *   says otherwise; we point it at a temp dir so the working tree stays clean.
 * - The mocked Bot Connector is `http://localhost:<port>/_connector`.
 */

export const PLAYGROUND_DEFAULT_PORT = 56150;
export const PLAYGROUND_CONFIG_FILE = '.m365agentsplayground.yml';

export interface PlaygroundLog {
  info(msg: string): void;
  error(msg: string): void;
}

export interface StartPlaygroundOptions {
  /** The bot's messaging endpoint, e.g. http://localhost:3978/api/messages */
  botEndpoint: string;
  /** 56150 by default; 0 picks a free ephemeral port (what tests should use). */
  port?: number;
  /** Folder holding `.m365agentsplayground.yml`; the repository root by default. */
  configDir?: string;
  /** Milliseconds to wait for the web UI to answer. */
  startTimeoutMs?: number;
  log?: PlaygroundLog;
}

export interface RunningPlayground {
  /** The web UI, e.g. http://localhost:56150 */
  url: string;
  port: number;
  /** The mocked Bot Connector the bot must reply to. */
  serviceUrl: string;
  close(): Promise<void>;
}

export class PlaygroundStartError extends Error {
  constructor(message: string, readonly output: string) {
    super(output ? `${message}\n--- playground output ---\n${output}` : message);
    this.name = 'PlaygroundStartError';
  }
}


// Preloaded into the Playground. Its bundle reassigns console.error after start-up (telemetry console
// hooks), which swallows its own config-error message before it calls process.exit(1). Pinning
// console.error with a no-op setter and writing synchronously to fd 2 brings the message back.
const SHOW_ERRORS_PRELOAD = `
const fs = require('node:fs');
const util = require('node:util');
const write = (...args) => { try { fs.writeSync(2, util.format(...args) + '\\n'); } catch {} };
Object.defineProperty(console, 'error', { get: () => write, set: () => {}, configurable: false });
`;

export function playgroundCliPath(): string {
  return require.resolve('@microsoft/m365agentsplayground/cli.js', { paths: [REPO_ROOT] });
}

function validateEndpoint(botEndpoint: string): string {
  let u: URL;
  try {
    u = new URL(botEndpoint);
  } catch {
    throw new PlaygroundStartError(`botEndpoint is not a URL: ${JSON.stringify(botEndpoint)}`, '');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new PlaygroundStartError(`botEndpoint must be http(s): ${u.protocol}`, '');
  }
  return u.toString();
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

export async function startPlayground(opts: StartPlaygroundOptions): Promise<RunningPlayground> {
  const endpoint = validateEndpoint(opts.botEndpoint);
  const configPath = path.join(opts.configDir ?? REPO_ROOT, PLAYGROUND_CONFIG_FILE);
  if (!existsSync(configPath)) {
    throw new PlaygroundStartError(`Playground config not found: ${configPath}`, '');
  }
  const requestedPort = opts.port ?? PLAYGROUND_DEFAULT_PORT;
  // `-p 0` lets the OS choose; the real port is read back from its `Listening on` line either way.
  const port = requestedPort;
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'playground-'));
  const preload = path.join(workDir, 'show-errors.cjs');
  await writeFile(preload, SHOW_ERRORS_PRELOAD);

  // Tied to this process, so a killed bot never leaves a Playground holding its port.
  const child = spawnTiedToParent(
    process.execPath,
    ['-r', preload, playgroundCliPath(), '-e', endpoint, '-c', 'msteams', '--dt', '-p', String(port)],
    {
      cwd: workDir,
      env: {
        ...process.env,
        TEAMSAPPTESTER_BROWSER: 'none',
        M365_AGENTS_PLAYGROUND_CONFIG_PATH: configPath,
        M365_AGENTS_PLAYGROUND_LOGFILE: path.join(workDir, 'playground.log'),
      },
    },
  );

  let output = '';
  let listeningPort: number | undefined;
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-16_000);
    const m = /Listening on (\d+)/.exec(output);
    if (m) listeningPort = Number(m[1]);
  };
  child.stdout!.on('data', (c: Buffer) => {
    keep(c);
    opts.log?.info(c.toString('utf8').trimEnd());
  });
  child.stderr!.on('data', (c: Buffer) => {
    keep(c);
    opts.log?.error(c.toString('utf8').trimEnd());
  });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
  });

  const cleanup = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 3000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 2000);
      }
    }
    await rm(workDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) {
      await cleanup();
      throw new PlaygroundStartError(
        `Agents Playground exited during start (code ${exited.code}, signal ${exited.signal}); config ${configPath}`,
        output.trim(),
      );
    }
    if (listeningPort !== undefined && (await answers(`http://localhost:${listeningPort}/`))) break;
    if (Date.now() > deadline) {
      await cleanup();
      throw new PlaygroundStartError(`Agents Playground did not answer within ${opts.startTimeoutMs ?? 30_000} ms`, output.trim());
    }
    await new Promise((r) => setTimeout(r, 150));
  }

  const actualPort = listeningPort!;
  if (port !== 0 && actualPort !== port) {
    opts.log?.error(`port ${port} was taken: the Playground fell back to ${actualPort}`);
  }
  let closed: Promise<void> | undefined;
  return {
    url: `http://localhost:${actualPort}`,
    port: actualPort,
    serviceUrl: `http://localhost:${actualPort}/_connector`,
    close: () => (closed ??= cleanup()),
  };
}

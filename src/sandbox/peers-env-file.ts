import { chmodSync, existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';

/**
 * `npm run peers` runs the sandbox's emulators once for any number of bot processes. Beside the
 * generated customers file it writes this file: the sandbox secrets the customers file refers to
 * (env:NAME), the emulated Graph's CA certificate and the MSP mailbox settings. A sandbox bot
 * started with that customers file reads it from the same SANDBOX_DATA_DIR, so the replicas need
 * only IR_MODE, SANDBOX_DATA_DIR, CUSTOMERS_FILE and STORE_URL. Sandbox values only: no real secret
 * is ever written here.
 */
export const PEERS_ENV_FILE_NAME = 'peers.env';

/**
 * Writes the values, one NAME="value" a line, newlines as \n (dotenv expands those in double
 * quotes). dotenv undoes no other escape, so a value with a quote or a backslash is refused
 * rather than written altered (no sandbox value has one).
 */
export function writePeersEnvFile(dataDir: string, env: Record<string, string>): string {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, PEERS_ENV_FILE_NAME);
  const lines = Object.entries(env).map(([k, v]) => {
    if (!/^[A-Z][A-Z0-9_]*$/.test(k)) throw new Error(`peers env: "${k}" is not an environment variable name`);
    if (/["\\\r]/.test(v)) throw new Error(`peers env: the value of ${k} has a quote, backslash or carriage return, which the env file cannot carry`);
    return `${k}="${v.replace(/\n/g, '\\n')}"`;
  });
  writeFileSync(file, `# written by npm run peers for the sandbox bots on this data folder\n${lines.join('\n')}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/** The values `npm run peers` wrote into this data folder, or undefined when it did not. */
export function readPeersEnvFile(dataDir: string): Record<string, string> | undefined {
  const file = join(dataDir, PEERS_ENV_FILE_NAME);
  if (!existsSync(file)) return undefined;
  return dotenv.parse(readFileSync(file));
}

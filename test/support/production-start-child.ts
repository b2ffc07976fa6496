/**
 * Run as `node --require tsx/cjs test/support/production-start-child.ts` with a production
 * environment: starts the app as main.ts does, then prints one JSON line with its port and every
 * loaded module that production must never load (src/sandbox/**, dev-only packages). Stays up until
 * SIGTERM so the test can talk to it.
 */
import { startApp } from '../../src/main';

const DEV_ONLY = ['/src/sandbox/', '/node_modules/pino-pretty/', '/node_modules/@microsoft/m365agentsplayground/', '/node_modules/radius/', '/node_modules/adaptivecards/'];

startApp(process.env).then((app) => {
  const loaded = Object.keys(require.cache).filter((f) => DEV_ONLY.some((d) => f.split('\\').join('/').includes(d)));
  process.stdout.write(`${JSON.stringify({ port: app.port, mode: app.env.mode, loaded })}\n`);
  process.once('SIGTERM', () => { void app.close().finally(() => process.exit(0)); });
}, (e: Error) => {
  process.stdout.write(`${JSON.stringify({ error: e.message })}\n`);
  process.exit(1);
});

/**
 * `npm run verify -- <incident> [<incident> ...]`: recomputes every stored payload hash and the
 * timeline hash chain of each incident in the store STORE_URL points at (as the app does).
 * Exit code 0 when everything matches, 1 when anything was changed, 2 on a usage or store error.
 */
import { describeLocation, openStore, parseStoreUrl } from '../src/store/open-store';
import { NotFoundError } from '../src/store/errors';
import { describeVerification, verifyIncident } from '../src/evidence/verify';

async function main(argv: string[]): Promise<number> {
  const ids = argv.filter((a) => !a.startsWith('-'));
  if (ids.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stderr.write('usage: npm run verify -- <incident-id> [<incident-id> ...]\n  reads the store at STORE_URL (default sqlite:./data/ir.sqlite)\n');
    return 2;
  }
  let location: string;
  try {
    location = describeLocation(parseStoreUrl(process.env.STORE_URL));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const store = await openStore(process.env.STORE_URL);
  let failed = false;
  try {
    process.stdout.write(`store: ${location}\n`);
    for (const id of ids) {
      try {
        const r = await verifyIncident(store, id);
        process.stdout.write(`${describeVerification(r).join('\n')}\n`);
        if (!r.ok) failed = true;
      } catch (e) {
        if (e instanceof NotFoundError) {
          process.stdout.write(`${id}: no such incident in this store\n`);
          failed = true;
        } else {
          throw e;
        }
      }
    }
  } finally {
    await store.close();
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    process.stderr.write(`verify failed: ${(e as Error).message}\n`);
    process.exitCode = 2;
  },
);

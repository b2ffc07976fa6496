import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import * as ACData from 'adaptivecards-templating';

/** Finds the repository's cards/ folder whether we run from src/ (tsx) or dist/ (tsc). */
function cardsDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'cards');
    if (existsSync(join(candidate, 'timeline.json'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('cards/ folder with the Adaptive Card templates not found');
}

const cache = new Map<string, ACData.Template>();

export type CardName = 'timeline' | 'approval' | 'status' | 'email-draft' | 'handoff' | 'release';

/** Expands a template from cards/ with data. Values are inserted as data, never evaluated. */
export function expandCard(name: CardName, data: Record<string, unknown>): Record<string, unknown> {
  let t = cache.get(name);
  if (!t) {
    t = new ACData.Template(JSON.parse(readFileSync(join(cardsDir(), `${name}.json`), 'utf8')));
    cache.set(name, t);
  }
  const card = t.expand({ $root: data }) as Record<string, unknown>;
  delete card.$schema;
  return card;
}

export const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

import { CARD_CONTENT_TYPE, type CardName } from './card-templates';

/**
 * Teams refuses a bot message over about 28 KB, the card included (Bot Connector answers 413 and
 * the card is simply missing from the channel). The bot therefore measures what it sends: the
 * activity serialised as JSON, in UTF-8 bytes, plus a reserve for what botbuilder adds to it on
 * the way out (ids, the conversation reference, serviceUrl, channelData).
 */
export const TEAMS_MESSAGE_LIMIT_BYTES = 28 * 1024;
/** What botbuilder and the channel add around our activity (measured: under 1 KB; kept generous). */
export const ENVELOPE_RESERVE_BYTES = 2 * 1024;
/** The most the activity the bot builds may weigh. */
export const ACTIVITY_BUDGET_BYTES = TEAMS_MESSAGE_LIMIT_BYTES - ENVELOPE_RESERVE_BYTES;

export class CardTooLargeError extends Error {
  constructor(readonly what: string, readonly bytes: number) {
    super(`${what} is ${bytes} bytes; Teams takes at most ${ACTIVITY_BUDGET_BYTES} bytes per message (28 KB less the envelope): not sent`);
    this.name = 'CardTooLargeError';
  }
}

/** UTF-8 bytes of the activity as it goes on the wire (JSON). */
export function activityBytes(activity: unknown): number {
  return Buffer.byteLength(JSON.stringify(activity), 'utf8');
}

/** The activity a card is sent in (CardFactory.adaptiveCard's attachment shape, without botbuilder). */
export function cardActivity(card: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'message', ...extra, attachments: [{ contentType: CARD_CONTENT_TYPE, content: card }] };
}

/** Throws CardTooLargeError when the activity would be refused by Teams; the last check before a send. */
export function assertActivityFits(activity: unknown, what = 'the message'): void {
  const bytes = activityBytes(activity);
  if (bytes > ACTIVITY_BUDGET_BYTES) throw new CardTooLargeError(what, bytes);
}

/** How much a renderer shows at a given shrink level: level 0 is the full card. */
export const FIT_LEVELS = 6;

/**
 * Renders a card at level 0, 1, 2, … (each level shows fewer rows and shorter texts) until the
 * activity fits; the renderer decides what each level gives up, and never drops what a level must
 * keep (an approval's buttons and the count of what it changes). Throws if even the last level is
 * too large, which the card-size test proves cannot happen for any card the bot makes.
 */
export function fitCard(name: CardName, render: (level: number) => Record<string, unknown>): Record<string, unknown> {
  let bytes = 0;
  for (let level = 0; level < FIT_LEVELS; level++) {
    const card = render(level);
    bytes = activityBytes(cardActivity(card, { summary: 'x'.repeat(300) }));
    if (bytes <= ACTIVITY_BUDGET_BYTES) return card;
  }
  throw new CardTooLargeError(`the ${name} card`, bytes);
}

/** Halves a row count per level, never below `min`. */
export function rowsAt(level: number, full: number, min = 3): number {
  return Math.max(min, Math.floor(full / 2 ** level));
}

/** Text lengths per level: full, then shorter, never below `min` characters. */
export function charsAt(level: number, full: number, min = 60): number {
  return Math.max(min, Math.floor(full / 2 ** Math.max(0, level - 1)));
}

/**
 * The first `n` of a list that can grow, and a line saying how many more there are and where the
 * whole list is (the report, the operator API), so nothing is silently dropped.
 */
export function firstOf<T>(items: readonly T[], n: number, where: string): { shown: T[]; more: string } {
  if (items.length <= n) return { shown: [...items], more: '' };
  return { shown: items.slice(0, n), more: `… and ${items.length - n} more — see ${where}` };
}

/**
 * A text message of lines that fits: as many lines as the budget takes, then one line saying how
 * many were left out and where they are.
 */
export function fitTextMessage(lines: string[], joiner: string, where: string): Record<string, unknown> {
  const msg = (n: number) => ({
    type: 'message', textFormat: 'markdown',
    text: [...lines.slice(0, n), ...(n < lines.length ? [`… and ${lines.length - n} more lines — see ${where}`] : [])].join(joiner),
  });
  let n = lines.length;
  while (n > 0 && activityBytes(msg(n)) > ACTIVITY_BUDGET_BYTES) n--;
  return msg(n);
}

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page, type Route } from 'playwright-core';
import { findPlaygroundUser, loadPlaygroundConfig, type PlaygroundConfig } from '../../src/sandbox/playground/config';

/**
 * Drives the Agents Playground's web UI in headless Debian Chromium, the way a SOC engineer would
 * use Teams: pick the channel, @mention the bot, read cards, press their buttons.
 *
 * Selectors were taken from the real UI (Playground 0.2.28):
 * - channel list entries are <button>s holding the channel name and the team name;
 * - composers are Lexical editors: `[contenteditable="true"][role="textbox"]`; the first one in a
 *   channel is "Start a new post", each thread below has its own "Type a message..." box;
 * - typing `@` opens a menu of `role="menuitem"` entries (bot first, then the users);
 * - cards render as `.ac-adaptiveCard`; Action.* buttons are <button title="<action title>">;
 * - threads are newest-first under the composer.
 *
 * The UI has no "switch user" control. The browser tells the Playground who acts by `from.id` in the
 * bodies it POSTs to `/_conversation/v1/...` (messages, invoke, submit); the Playground then builds
 * the activity from that user's config entry (name, aadObjectId). `switchUser` rewrites that id in
 * flight, so the bot receives a genuine activity from, say, Megan Bowen.
 */

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const COMPOSER = '[contenteditable="true"][role="textbox"]';

export interface PlaygroundSession {
  page: Page;
  /** Opens a channel of the team (e.g. 'sec-ir'); this is what makes the Playground install the bot there. */
  selectChannel(name: string): Promise<void>;
  /** Starts a new post in the open channel: `@<bot> <text>`. */
  postMention(botName: string, text: string): Promise<void>;
  /** Replies inside the thread whose root contains `rootContaining`: `@<bot> <text>`. */
  replyInThread(rootContaining: string, botName: string, text: string): Promise<void>;
  waitForText(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** The (last rendered) Adaptive Card containing the text. */
  findCard(containing: string | RegExp): Locator;
  clickCardButton(cardContaining: string | RegExp, buttonTitle: string): Promise<void>;
  /** Acts as another configured user for everything sent from now on (messages, card actions). */
  switchUser(name: string): Promise<void>;
  /** Name of the user the browser currently acts as. */
  currentUser(): string;
  screenshot(file: string): Promise<void>;
  close(): Promise<void>;
}

export interface OpenPlaygroundOptions {
  /** Folder of the `.m365agentsplayground.yml` the Playground was started with (repo root by default). */
  configDir?: string;
  viewport?: { width: number; height: number };
  /** Default timeout for UI waits (generous: the Playground page loads slowly on a busy 2-core machine). */
  timeoutMs?: number;
}

export async function openPlayground(url: string, opts: OpenPlaygroundOptions = {}): Promise<PlaygroundSession> {
  const cfg: PlaygroundConfig = loadPlaygroundConfig(opts.configDir);
  const timeout = opts.timeoutMs ?? 45_000;
  // A fresh profile per session: the Playground keeps history in the page only, and nothing may leak
  // between runs.
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'playground-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: opts.viewport ?? { width: 1400, height: 1000 },
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeout);

  let actingAs = cfg.currentUser;
  const rewriteFrom = async (route: Route) => {
    const req = route.request();
    const body = req.postData();
    if (req.method() !== 'POST' || !body) return route.continue();
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return route.continue();
    }
    if (json && typeof json === 'object' && 'from' in json) {
      (json as { from: { id: string } }).from = { id: actingAs.id };
      return route.continue({ postData: JSON.stringify(json) });
    }
    return route.continue();
  };
  await page.route('**/_conversation/v1/**', rewriteFrom);

  try {
    await page.goto(url);
    await page.locator(COMPOSER).first().waitFor({ state: 'visible' });
  } catch (err) {
    await context.close();
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }

  const pickMention = async (botName: string) => {
    await page.keyboard.type('@');
    await page.getByRole('menuitem').filter({ has: page.getByText(botName, { exact: true }) }).first().click();
  };

  const findCard = (containing: string | RegExp) => page.locator('.ac-adaptiveCard').filter({ hasText: containing }).last();

  let closed = false;
  return {
    page,
    async selectChannel(name) {
      await page.locator('button').filter({ has: page.getByText(name, { exact: true }) }).filter({ hasText: cfg.team.name }).first().click();
      await page.getByText('Start a new post', { exact: true }).waitFor({ state: 'visible' });
    },
    async postMention(botName, text) {
      const composer = page.locator(COMPOSER).first();
      await composer.click();
      await pickMention(botName);
      await page.keyboard.type(` ${text}`);
      await page.getByRole('button', { name: 'Post', exact: true }).click();
      // The composer empties once the post is accepted.
      const deadline = Date.now() + timeout;
      while (((await composer.textContent()) ?? '').trim() !== '') {
        if (Date.now() > deadline) throw new Error(`post "${text}" was not accepted within ${timeout} ms`);
        await page.waitForTimeout(100);
      }
    },
    async replyInThread(rootContaining, botName, text) {
      const thread = page
        .locator('div.fui-Card')
        .filter({ hasText: rootContaining })
        .filter({ has: page.locator(COMPOSER) })
        .last();
      const box = thread.locator(COMPOSER).last();
      await box.click();
      await pickMention(botName);
      await page.keyboard.type(` ${text}`);
      await page.keyboard.press('Enter');
    },
    async waitForText(text, timeoutMs = timeout) {
      await page.getByText(text).first().waitFor({ state: 'visible', timeout: timeoutMs });
    },
    findCard,
    async clickCardButton(cardContaining, buttonTitle) {
      const card = findCard(cardContaining);
      await card.waitFor({ state: 'visible' });
      await card.locator(`button[title=${JSON.stringify(buttonTitle)}]`).first().click();
    },
    async switchUser(name) {
      actingAs = findPlaygroundUser(cfg, name);
    },
    currentUser: () => actingAs.name,
    async screenshot(file) {
      await page.screenshot({ path: file, fullPage: true });
    },
    async close() {
      if (closed) return;
      closed = true;
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

import { chromium } from 'playwright-core';
import { startPlayground } from '../../src/sandbox/playground/launcher';
import { startEchoBot, card } from './echo-bot';
(async () => {
  const bot = await startEchoBot();
  const pg = await startPlayground({ botEndpoint: bot.endpoint, port: 0 });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--disable-gpu','--disable-background-networking','--disable-component-update','--disable-sync','--no-first-run','--disable-quic'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    await page.goto(pg.url);
    await page.getByText('sec-ir', { exact: true }).click();
    await page.waitForTimeout(2500);
    await page.screenshot({ path: '/tmp/pgx/shots/2.png' });
    console.log(JSON.stringify(bot.received.slice(2), null, 1));
    console.log([...bot.channelRefs.keys()]);
    require('fs').writeFileSync('/tmp/pgx/page2.html', await page.content());
    await page.getByText('Alex Wilber').first().click();
    await page.waitForTimeout(1000);
    await page.screenshot({ path: '/tmp/pgx/shots/3.png' });
    require('fs').writeFileSync('/tmp/pgx/page3.html', await page.content());
  } catch (e) { console.error(e); }
  await browser.close(); await pg.close(); await bot.close();
})();

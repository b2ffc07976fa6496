import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONTOSO } from '../../src/sandbox/contoso';
import { findUser } from '../../src/sandbox/graph/state';
import { startSandboxApp } from '../support/sandbox-app';
import { openPlayground, type PlaygroundSession } from '../support/playground-driver';
import { sambaUnavailableReason, tryBind } from '../support/samba-dc';

/**
 * Issue 11's "Done when" as an operator sees it: the sandbox with its Samba DC, `npm run alert -- mdi`
 * (the script itself, run against this bot), the Playground in headless Chromium showing the
 * timeline card with the account in both directories and its devices, the one approval card saying
 * exactly what happens in AD and in Entra, one Approve click, then Samba itself refusing the old
 * password and the Graph emulator holding the revocation, and the same card updated in place.
 */
describe('sandbox end to end: the MDI alert on CONTOSO\\adm-avance contained in Samba AD and Entra after one Approve in the Playground', function () {
  this.timeout(300_000);
  let app: Awaited<ReturnType<typeof startSandboxApp>>;
  let ui: PlaygroundSession;
  let incidentId: string;
  const STEP = 'Contain the account where it lives';

  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > end) {
        const steps = incidentId ? (await app.store.listActions(incidentId)).map((a) => `${a.stepId}=${a.status}${a.error ? ` (${a.error})` : ''}`) : [];
        throw new Error(`timed out waiting for ${what}; steps: ${steps.join('; ')}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const stepStatus = async (stepId: string) => (await app.store.getAction(`${incidentId}:${stepId}`))?.status;
  // "label\nvalue" as the Playground renders an Adaptive Card FactSet in innerText
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const factIn = (text: string, label: string) => new RegExp(`^${label.replace(/[()]/g, '\\$&')}\\s*\\n\\s*([^\\n]*)`, 'm').exec(text)?.[1]?.trim();

  before(async function () {
    const why = sambaUnavailableReason();
    if (why) {
      // eslint-disable-next-line no-console
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    app = await startSandboxApp({ env: { SANDBOX_SAMBA: 'true' } });
    assert.ok(app.sandbox!.samba, `the sandbox started Samba: ${app.sandbox!.warnings.join('; ')}`);
    ui = await openPlayground(app.playgroundUrl!, { viewport: { width: 1400, height: 2400 } });
    await ui.selectChannel('sec-ir');
    await waitFor('the bot to learn #sec-ir', () => app.store.getRef('teams:channel'));
    // the alert exactly as an operator fires it at the running sandbox
    const { stdout } = await promisify(execFile)('npm', ['run', '--silent', 'alert', '--', 'mdi'], {
      env: { ...process.env, PORT: String(app.port), SANDBOX_DATA_DIR: join(app.dir, 'sandbox'), ALERT_WEBHOOK_TOKEN: 'sandbox-token', ALERT_URL: `http://127.0.0.1:${app.port}/api/alerts` },
      timeout: 60_000,
    });
    const m = /^(\d{3}) (.*)$/m.exec(stdout);
    assert.ok(m, `npm run alert printed: ${stdout}`);
    assert.equal(m[1], '202', stdout);
    incidentId = (JSON.parse(m[2]) as { incidentId: string }).incidentId;
    await ui.waitForText(incidentId, 30_000);
  });

  after(async () => {
    await ui?.close();
    await app?.dispose();
  });

  it('shows the timeline card with the account in AD and Entra (SID, sAMAccountName, DN, sync, privileged groups) and its device', async () => {
    const dc = app.sandbox!.samba!.dc;
    const card = ui.findCard(/The account in Active Directory/);
    await card.waitFor({ timeout: 90_000 });
    const text = await waitFor('the timeline card with the devices', async () => {
      const t = await ui.findCard(/The account in Active Directory/).innerText();
      return /WS-0412/.test(t) ? t : undefined;
    }, 60_000);
    assert.match(text, new RegExp(incidentId));
    assert.equal(factIn(text, 'SID'), dc.template.accounts['adm-avance'].sid, text);
    assert.equal(factIn(text, 'sAMAccountName'), 'adm-avance', text);
    assert.equal(factIn(text, 'DN'), CONTOSO.admAvance.distinguishedName, text);
    assert.match(factIn(text, 'Privileged groups (AD, transitive)') ?? '', /Domain Admins/, text);
    assert.match(factIn(text, 'Sync') ?? '', /^synced from on-premises AD \(contoso\.local\), last sync \d{4}-\d{2}-\d{2} /, text);
    assert.equal(factIn(text, 'UPN (Entra)'), CONTOSO.admAvance.upn, text);
    assert.match(text, /Devices/);
    assert.match(text, /WS-0412 \(Windows [^)]*\); seen in: alert, sign-in, registered/, text);
  });

  it('posts one approval card that says what happens in AD on the named DC, in Entra, and what stays valid', async () => {
    const dc = app.sandbox!.samba!.dc;
    await waitFor('the identity containment approval', async () => (await stepStatus('entra-contain')) === 'awaiting_approval', 120_000);
    const heading = new RegExp(`Approval needed: ${STEP} · ${incidentId}`);
    await ui.findCard(heading).waitFor({ timeout: 30_000 });
    const text = await ui.findCard(heading).innerText();
    assert.equal(await ui.page.locator('.ac-adaptiveCard').filter({ hasText: heading }).count(), 1, 'one approval card for the step');
    assert.equal((await app.store.listApprovals({ incidentId })).filter((a) => a.actionId === `${incidentId}:entra-contain`).length, 1, 'one approval asked for');

    // What will change: exactly these four, in this order
    const changes = /What will change \((\d+)\)/.exec(text);
    assert.equal(changes?.[1], '4', `four changes listed:\n${text}`);
    const lines = text.split('\n').map((l) => l.trim());
    const from = lines.findIndex((l) => /^What will change/.test(l));
    const listed = lines.slice(from + 1).filter((l) => l).slice(0, 4);
    assert.match(listed[0], new RegExp(`^(• )?Disable in AD — On ${esc(`${dc.servername} (${dc.ip}:${dc.port})`)}: set ACCOUNTDISABLE on ${esc(CONTOSO.admAvance.distinguishedName)} \\(userAccountControl \\d+ → \\d+\\)$`), text);
    assert.match(listed[1], new RegExp(`^(• )?Reset the password in AD on ${esc(`${dc.servername} (${dc.ip}:${dc.port})`)}: a generated one that is never shown, logged or stored$`), text);
    assert.match(listed[2], /^(• )?Revoke the Entra sign-in sessions and refresh tokens of adm-avance@contoso\.com \(\d+ sessions? seen in the last 24 h\)/, text);
    assert.match(listed[3], /^(• )?Confirm adm-avance@contoso\.com compromised in Identity Protection/, text);
    assert.ok(text.includes(`${dc.servername} (${dc.ip}:${dc.port})`), `the card names the DC:\n${text}`);
    // what Entra does at the next sync, and what stays valid
    assert.match(text, /Entra takes the disabled state and the new password from AD at the next directory sync/, text);
    assert.match(text, /Still valid after this: Kerberos tickets already issued/, text);
    assert.match(text, /Disable \/ reset the password in Entra: Graph refuses both for an account synced from AD/, 'the card says why Entra itself is not disabled');
    assert.match(factIn(text, 'Password last set') ?? '', /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/, 'the same time format as the timeline card');
  });

  it('one Approve click: Samba refuses the old password and shows the account disabled, the Graph emulator holds the revocation, the card is updated in place', async () => {
    const dc = app.sandbox!.samba!.dc;
    const adm = dc.template.accounts['adm-avance'];
    const tenant = app.sandbox!.graph.state.tenants.get(CONTOSO.tenantId)!;
    const entraUser = findUser(tenant, CONTOSO.admAvance.upn)!;
    const approval = (await app.store.listApprovals({ incidentId, status: 'pending' })).find((a) => a.actionId === `${incidentId}:entra-contain`)!;
    const posted = JSON.parse((await app.store.getState(`teams:approval:${approval.id}`))!) as { activityId: string };

    await ui.clickCardButton(new RegExp(`Approval needed: ${STEP} · ${incidentId}`), 'Approve');
    await waitFor('the identity containment to finish', async () => ['succeeded', 'failed'].includes((await stepStatus('entra-contain')) ?? ''), 120_000);
    const action = await app.store.getAction(`${incidentId}:entra-contain`);
    assert.equal(action!.status, 'succeeded', JSON.stringify(action));

    // Samba itself: the seed password no longer binds (52e reset, 533 disabled) and the DC says disabled
    const bind = await tryBind(dc, adm.upn, adm.password);
    assert.match(bind?.message ?? 'bound', /data (52e|533)/, 'the old password no longer binds');
    const shown = await dc.tool(['user', 'show', 'adm-avance', '--attributes=userAccountControl']);
    assert.equal(Number(/userAccountControl: (\d+)/.exec(shown)?.[1]) & 2, 2, `adm-avance is disabled in AD:\n${shown}`);

    // the Graph emulator: revoked exactly once, and Entra never asked to disable the synced account
    const graph = app.sandbox!.graph.state;
    assert.equal(graph.revocations.filter((r) => r.tenantId === CONTOSO.tenantId && r.userId === entraUser.id).length, 1, 'revoked exactly once');
    assert.ok(Date.parse(findUser(tenant, CONTOSO.admAvance.upn)!.signInSessionsValidFromDateTime) > Date.now() - 5 * 60_000, 'sessions valid only from now');
    assert.ok(!graph.requests.some((r) => r.method === 'PATCH' && JSON.stringify(r.body ?? {}).includes('accountEnabled')), 'no PATCH accountEnabled');
    assert.equal(tenant.riskyUsers.get(entraUser.id)?.riskState, 'confirmedCompromised', 'confirmed compromised in Identity Protection');

    // the same card, updated in place: same activity, no longer asking, showing who approved and what happened
    const done = new RegExp(`Approval: ${STEP} · ${incidentId}`);
    const text = await waitFor('the approval card updated', async () => {
      const t = await ui.findCard(done).innerText().catch(() => '');
      return /Approved by Alex Wilber/.test(t) && /disabled in AD/.test(t) ? t : undefined;
    }, 60_000);
    assert.match(text, /Entra sessions revoked, confirmed compromised/, text);
    assert.equal(await ui.page.locator('.ac-adaptiveCard').filter({ hasText: new RegExp(`${STEP} · ${incidentId}`) }).count(), 1, 'the card was replaced, not a second one posted');
    assert.equal(await ui.findCard(done).locator('button[title="Approve"]').count(), 0, 'no Approve button left');
    assert.equal(JSON.parse((await app.store.getState(`teams:approval:${approval.id}`))!).activityId, posted.activityId, 'the same Teams message');
  });
});

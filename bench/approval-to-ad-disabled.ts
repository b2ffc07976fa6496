/**
 * Approval to account disabled in Active Directory, end to end: the whole bot in sandbox mode (in
 * this process), Contoso's emulators, and a real Samba AD DC. Each run opens a fresh incident from
 * Defender for Identity's alert on CONTOSO\adm-avance (a Domain Admin synced to Entra), waits for the
 * identity approval card, then times from the Approve click (the card action's invoke POSTed to
 * /api/messages) to the moment the DC itself reports the account disabled (userAccountControl bit 2,
 * polled back to back over a bound LDAPS connection as the domain Administrator). The baseline, in
 * the same run, is one bare ldapts modify of userAccountControl on a connection already bound as the
 * bot's service account. Medians of N runs after one warm-up run.
 *
 * Run: npx tsx bench/approval-to-ad-disabled.ts [runs=5]   (needs Debian's samba and root; see test/setup)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Attribute, Change, Client } from 'ldapts';
import { startApp, type RunningApp } from '../src/main';
import { PLAYGROUND_USERS } from '../src/sandbox/contoso';
import { CONTOSO_AD } from '../src/sandbox/samba/contoso-directory';
import { cardActionInvoke, postActivity } from '../test/support/bot-invoke';
import { fireAlert, mdiAlert, startBotWorld, waitFor } from '../test/support/bot-world';
import { adminClient, sambaUnavailableReason, startTestDc } from '../test/support/samba-dc';

const RUNS = Number(process.argv[2] ?? 5);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const why = sambaUnavailableReason();
  if (why) throw new Error(`no Samba AD DC: ${why}`);
  const dc = await startTestDc();
  const world = await startBotWorld('sqlite', { samba: dc });
  const dir = await mkdtemp(join(tmpdir(), 'bench-approval-ad-'));
  const admin = await adminClient(dc);
  const svc = dc.template.accounts[CONTOSO_AD.serviceAccount];
  const target = dc.template.accounts['adm-avance'];
  const uac = (v: number) => new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(v)] }) });
  const enable = () => admin.modify(target.dn, uac(512));
  const isDisabled = async () => {
    const r = await admin.search(target.dn, { scope: 'base', attributes: ['userAccountControl'] });
    return (Number(r.searchEntries[0].userAccountControl) & 2) === 2;
  };
  const bound = new Client({ url: `ldaps://${dc.ip}:636`, tlsOptions: { ca: [dc.caPem], servername: dc.servername } });
  await bound.bind(svc.upn, svc.password);

  const endToEnd: number[] = [];
  const bare: number[] = [];
  const polls: number[] = [];
  let app: RunningApp | undefined;
  try {
    for (let i = 0; i < RUNS + 1; i++) {
      await enable();
      // A fresh store per run: a second alert on the same account would join the open incident.
      app = await startApp({ ...world.childEnv(), STORE_URL: `sqlite:${join(dir, `run-${i}.sqlite`)}`, LOG_LEVEL: 'silent', NODE_ENV: 'test' });
      await app.store.putRef('teams:channel', world.connector.channelRef());
      const store = app.store;
      const incidentId = await fireAlert(app.port, mdiAlert(target.sid));
      const stepId = `${incidentId}:entra-contain`;
      const approval = await waitFor('the identity approval', async () =>
        (await store.listApprovals({ incidentId, status: 'pending' })).find((a) => a.actionId === stepId), 120_000);
      const card = await waitFor('the approval card', async () => {
        const v = await store.getState(`teams:approval:${approval.id}`);
        return v && !v.startsWith('posting:') ? (JSON.parse(v) as { conversationId: string; activityId: string }) : undefined;
      }, 60_000);
      if (await isDisabled()) throw new Error('bench: adm-avance is disabled before the approval');

      const t0 = performance.now();
      const click = postActivity(app.port, cardActionInvoke({
        verb: 'ir.approve', data: { approvalId: approval.id }, from: PLAYGROUND_USERS.alex,
        serviceUrl: world.connector.serviceUrl, conversationId: card.conversationId, replyToId: card.activityId,
      }));
      let n = 0;
      let t1 = 0;
      for (;;) {
        n++;
        if (await isDisabled()) { t1 = performance.now(); break; }
        if (performance.now() - t0 > 120_000) throw new Error('bench: the account was not disabled within 120 s of the approval');
      }
      const reply = await click;
      if (reply.status !== 200) throw new Error(`bench: approve answered HTTP ${reply.status}`);
      // The rest of the step (reset, Entra) finishes before the next run.
      const action = await waitFor('the step to finish', async () => {
        const a = await store.getAction(stepId);
        return a && ['succeeded', 'failed'].includes(a.status) ? a : undefined;
      }, 120_000);
      if (action.status !== 'succeeded') throw new Error(`bench: identity.contain ${action.status}: ${action.error}`);
      await app.close();
      app = undefined;

      await enable();
      const b0 = performance.now();
      await bound.modify(target.dn, uac(514));
      const b = performance.now() - b0;
      if (!(await isDisabled())) throw new Error('bench: the bare modify did not disable the account');
      if (i > 0) { endToEnd.push(t1 - t0); bare.push(b); polls.push((t1 - t0) / n); } // the first round warms up
      console.log(`  run ${i}${i === 0 ? ' (warm-up)' : ''}: approval → disabled ${(t1 - t0).toFixed(1)} ms (${n} polls); bare modify ${b.toFixed(1)} ms`);
    }
  } finally {
    await app?.close().catch(() => undefined);
    await bound.unbind().catch(() => undefined);
    await admin.unbind().catch(() => undefined);
    await world.close();
    await dc.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
  const [me, mb, mp] = [median(endToEnd), median(bare), median(polls)];
  console.log(`Approve click → adm-avance disabled in Samba (${dc.servername}), median of ${RUNS}: ${me.toFixed(1)} ms (min ${Math.min(...endToEnd).toFixed(1)}, max ${Math.max(...endToEnd).toFixed(1)})`);
  console.log(`  one bare ldapts modify of userAccountControl on a bound connection: ${mb.toFixed(1)} ms  (ratio ${(me / mb).toFixed(1)}x)`);
  console.log(`  resolution: one poll of the DC every ${mp.toFixed(1)} ms (median)`);
}

void main().catch((e) => { console.error(e); process.exit(1); });

import assert from 'node:assert/strict';
import { Attribute, Change, type Client } from 'ldapts';
import { CONTOSO, PLAYGROUND_USERS } from '../../src/sandbox/contoso';
import { findUser } from '../../src/sandbox/graph/state';
import { verifyChain } from '../../src/domain/timeline-hash';
import { unicodePwdValue } from '../../src/connectors/active-directory/generated-password';
import type { CrashPausePoint } from '../../src/connectors/types';
import { HOLDING } from '../../src/sandbox/crash-pause-points';
import type { ApprovalRecord, Store } from '../../src/store/store';
import { BotChild } from '../support/bot-child';
import { cardActionInvoke, postActivity } from '../support/bot-invoke';
import { expireLeasesOfDeadWorker, fireAlert, mdiAlert, startBotWorld, waitFor, type BotWorld } from '../support/bot-world';
import { adminClient, sambaUnavailableReason, startTestDc, tryBind, type SambaDc } from '../support/samba-dc';
import { calibrateWriteSteps, writeCounts, type WriteCounts, type WriteSteps } from '../support/samba-repl-metadata';

/**
 * Issue 11 part 4: the bot process is SIGKILLed inside identity.contain for CONTOSO\adm-avance (a
 * Domain Admin synced to Entra), between its two AD writes and after both, on a real Samba DC,
 * and started again on the same database. The DC is the judge: the per-attribute write versions in
 * its replPropertyMetaData say the account was disabled once and its password reset exactly once
 * over both attempts, and the seed password no longer binds.
 *
 * The kill point is exact, not timed: IR_CRASH_PAUSE (src/sandbox/crash-pause-points.ts, honoured
 * only with IR_MODE=sandbox and NODE_ENV=test) holds the action at the named point; the test waits
 * for the bot's `crash-pause: holding at …` line and kills it there. The restarted bot runs without
 * the hook. The dead worker's lease is expired through the Store port (as in bot-crash-restart),
 * the state the database reaches a minute later.
 *
 * Samba moves userAccountControl's version by 2 per change; the step per change is measured on a
 * scratch account first (calibrateWriteSteps), so "once" means one step, whatever the DC's count.
 *
 * One DC for the file (starting one takes seconds): before each case adm-avance is put back
 * (enabled, seed password) as the domain Administrator, and the write versions read afterwards
 * are the baseline.
 */
/** A bot start compiles src/ through tsx: on a shared 2-core machine under load it took over 30 s. */
const BOT_START_MS = 90_000;

describe('AD containment: bot SIGKILL between the AD writes, restart on the same database (real Samba DC)', function () {
  this.timeout(240_000);
  let dc: (SambaDc & { cleanup(): Promise<void> }) | undefined;
  let admin: Client | undefined;
  /** how far one change moves each version on this DC (Samba: 2 for userAccountControl) */
  let step: WriteSteps;

  before(async function () {
    if (sambaUnavailableReason()) this.skip();
    this.timeout(180_000);
    dc = await startTestDc();
    admin = await adminClient(dc);
    const scratch = dc.template.accounts['megan.bowen'];
    step = await calibrateWriteSteps(admin, scratch.dn, scratch.password, unicodePwdValue);
  });

  after(async () => {
    await admin?.unbind().catch(() => undefined);
    await dc?.cleanup();
  });

  for (const dialect of ['sqlite', 'postgres'] as const) {
    describe(dialect, () => {
      let world: BotWorld | undefined;
      let bot: BotChild | undefined;

      afterEach(async function () {
        if (this.currentTest?.state === 'failed' && bot) process.stderr.write(`--- bot log (pid ${bot.pid}) ---\n${bot.tail(60)}\n`);
        await bot?.kill();
        bot = undefined;
        await world?.close();
        world = undefined;
      });

      /** adm-avance as the seed has it, then its write versions: the baseline of one case. */
      async function freshAdmAvance(): Promise<WriteCounts> {
        const adm = dc!.template.accounts['adm-avance'];
        const now = await writeCounts(admin!, adm.dn);
        if (now.userAccountControlValue & 2) {
          await admin!.modify(adm.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(now.userAccountControlValue & ~2)] }) }));
        }
        if (await tryBind(dc!, adm.upn, adm.password)) {
          await admin!.modify(adm.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwdValue(adm.password)] }) }));
        }
        assert.equal(await tryBind(dc!, adm.upn, adm.password), undefined, 'adm-avance binds with its seed password before the alert');
        return writeCounts(admin!, adm.dn);
      }

      /**
       * The bot holding at `point` inside an approved identity.contain: fresh world, the MDI alert,
       * one Approve click on the identity approval card, then the hold.
       */
      async function heldAt(point: CrashPausePoint): Promise<{ incidentId: string; approval: ApprovalRecord; base: WriteCounts }> {
        const base = await freshAdmAvance();
        world = await startBotWorld(dialect, { samba: dc });
        bot = await BotChild.start({ ...world.childEnv(), IR_CRASH_PAUSE: point }, BOT_START_MS);
        const incidentId = await fireAlert(bot.port, mdiAlert(dc!.template.accounts['adm-avance'].sid));
        const approval = await pendingApproval(world.store, incidentId, 'entra-contain');
        const card = await postedCard(world.store, approval.id);
        const reply = await postActivity(bot.port, cardActionInvoke({
          verb: 'ir.approve', data: { approvalId: approval.id }, from: PLAYGROUND_USERS.alex,
          serviceUrl: world.connector.serviceUrl, conversationId: card.conversationId, replyToId: card.activityId,
        }));
        assert.equal(reply.status, 200, `approve answered HTTP ${reply.status}`);
        await waitFor(`the bot to hold at ${point}`, async () => bot!.lines.some((l) => l.includes(`${HOLDING} at ${point}`)), 60_000, 25);
        assert.equal((await world.store.getAction(`${incidentId}:entra-contain`))?.status, 'running', 'the step is not recorded when the bot dies');
        return { incidentId, approval, base };
      }

      /** SIGKILL, expire the dead worker's lease, start a bot without the hook; wait for the step. */
      async function killRestartAndFinish(incidentId: string): Promise<void> {
        const dead = bot!;
        await dead.kill();
        assert.equal(dead.proc.signalCode, 'SIGKILL');
        const released = await expireLeasesOfDeadWorker(world!.store, incidentId);
        assert.ok(released.includes('entra-contain'), `the dead bot held entra-contain (released: ${released.join(', ')})`);
        bot = await BotChild.start(world!.childEnv(), BOT_START_MS);
        const action = await waitFor('identity containment to finish after the restart', async () => {
          const a = await world!.store.getAction(`${incidentId}:entra-contain`);
          return a && ['succeeded', 'failed'].includes(a.status) ? a : undefined;
        }, 60_000);
        assert.equal(action.status, 'succeeded', JSON.stringify(action.error ?? action.result));
        assert.equal(action.attempts, 2, 'one attempt killed, one finished');
      }

      /** The DC's own account of it: one disable, one reset, over both attempts; the seed password refused. */
      async function assertOnceInSamba(base: WriteCounts): Promise<void> {
        const adm = dc!.template.accounts['adm-avance'];
        const after = await writeCounts(admin!, adm.dn);
        assert.equal(after.userAccountControlValue & 2, 2, `adm-avance is disabled in Samba (userAccountControl ${after.userAccountControlValue})`);
        assert.equal(after.userAccountControl - base.userAccountControl, step.userAccountControl, `userAccountControl changed once (replPropertyMetaData version ${base.userAccountControl} → ${after.userAccountControl}, ${step.userAccountControl} a change)`);
        assert.equal(after.unicodePwd - base.unicodePwd, step.unicodePwd, `unicodePwd written exactly once (replPropertyMetaData version ${base.unicodePwd} → ${after.unicodePwd}, ${step.unicodePwd} a write)`);
        assert.notEqual(after.pwdLastSet, base.pwdLastSet, 'pwdLastSet moved');
        // A wrong password answers 52e; the seed password would answer 533 (disabled) were it still right.
        const bind = await tryBind(dc!, adm.upn, adm.password);
        assert.ok(bind, 'the seed password no longer binds');
        assert.match(bind.message, /data 52e/, `the seed password is wrong now, not merely disabled: ${bind.message}`);
      }

      /** What the finished (second) attempt changed and found done, from the step's own result. */
      async function secondAttempt(incidentId: string): Promise<Record<string, boolean>> {
        const action = (await world!.store.getAction(`${incidentId}:entra-contain`))!;
        const steps = ((action.result as { output?: { steps?: Array<{ step: string; changed: boolean }> } }).output?.steps) ?? [];
        return Object.fromEntries(steps.map((s) => [s.step, s.changed]));
      }

      async function assertRecordedOnce(incidentId: string, approvalId: string): Promise<void> {
        const timeline = await world!.store.listTimeline(incidentId);
        assert.equal(verifyChain(timeline).ok, true, 'the timeline chain verifies');
        assert.equal(timeline.filter((e) => e.kind === 'approval.approve' && (e.data as { approvalId?: string } | null)?.approvalId === approvalId).length, 1, 'one approval on the timeline');
        assert.equal(timeline.filter((e) => e.kind === 'step.succeeded' && (e.data as { step?: string } | null)?.step === 'entra-contain').length, 1, 'one success recorded');
        assert.ok(timeline.some((e) => e.kind === 'step.started' && /attempt 2; an earlier attempt may have reached the target/.test(e.summary)), 'the second attempt says it re-reads first');
        assert.equal((await world!.store.listApprovals({ incidentId })).filter((a) => a.actionId === `${incidentId}:entra-contain`).length, 1, 'never asked twice');
        const entraUser = findUser(world!.graph.state.tenants.get(CONTOSO.tenantId)!, CONTOSO.admAvance.upn)!;
        assert.equal(world!.graph.state.revocations.filter((r) => r.userId === entraUser.id).length, 1, 'Entra sessions revoked once');
        assert.deepEqual(world!.graph.state.requests.filter((r) => r.method === 'PATCH' && JSON.stringify(r.body ?? {}).includes('accountEnabled')), [], 'Graph never asked to disable the synced user');
      }

      it('(a) killed after the AD disable, before the reset: the restart resets once and does not disable again', async () => {
        const { incidentId, approval, base } = await heldAt('identity.contain:after-ad-disable');
        const mid = await writeCounts(admin!, dc!.template.accounts['adm-avance'].dn);
        assert.equal(mid.userAccountControl - base.userAccountControl, step.userAccountControl, 'disabled before the kill');
        assert.equal(mid.unicodePwd, base.unicodePwd, 'not reset before the kill');
        await killRestartAndFinish(incidentId);
        await assertOnceInSamba(base);
        assert.deepEqual(await secondAttempt(incidentId), { adDisable: false, adResetPassword: true, revokeSessions: true, confirmCompromised: true }, 'the second attempt found the disable done and made the reset');
        await assertRecordedOnce(incidentId, approval.id);
      });

      it('(b) killed after the AD reset, before the step is recorded: the restart writes nothing to AD again', async () => {
        const { incidentId, approval, base } = await heldAt('identity.contain:after-ad-reset');
        const mid = await writeCounts(admin!, dc!.template.accounts['adm-avance'].dn);
        assert.deepEqual([mid.userAccountControl - base.userAccountControl, mid.unicodePwd - base.unicodePwd], [step.userAccountControl, step.unicodePwd], 'disabled and reset before the kill');
        await killRestartAndFinish(incidentId);
        await assertOnceInSamba(base);
        assert.deepEqual(await secondAttempt(incidentId), { adDisable: false, adResetPassword: false, revokeSessions: true, confirmCompromised: true }, 'the second attempt found both AD writes done');
        await assertRecordedOnce(incidentId, approval.id);
      });
    });
  }
});

async function pendingApproval(store: Store, incidentId: string, stepId: string): Promise<ApprovalRecord> {
  return waitFor(`the ${stepId} approval`, async () =>
    (await store.listApprovals({ incidentId, status: 'pending' })).find((a) => a.actionId === `${incidentId}:${stepId}`), 60_000);
}

async function postedCard(store: Store, approvalId: string): Promise<{ conversationId: string; activityId: string }> {
  return waitFor('the approval card in the thread', async () => {
    const v = await store.getState(`teams:approval:${approvalId}`);
    return v && !v.startsWith('posting:') ? (JSON.parse(v) as { conversationId: string; activityId: string }) : undefined;
  }, 30_000);
}

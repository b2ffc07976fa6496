import { z } from 'zod';
import type { ActionDef } from '../../src/connectors/types';
import type { Recorder } from './engine-fixtures';

/**
 * Test inverses for the release tests (the real ones are the "inverse" helper's: identity.release,
 * firewall.unblock, ...): same names, each re-reads the Recorder's world before acting and counts
 * its calls. `withInverses` adds the forward actions' declarations as the real connectors do.
 */
export const PASSWORD_NOTE = 'The password stays reset: the user sets a new one through the service desk (temporary password by phone); revoked sessions stay revoked';
export const RADIUS_NONE = 'RADIUS sessions reconnect by themselves once the account is enabled';
export const MAIL_NONE = 'an email cannot be unsent: the CISO gets a follow-up';

export function withInverses(defs: ActionDef[]): ActionDef[] {
  const decls: Record<string, ActionDef['inverse']> = {
    'identity.contain': { action: 'identity.release', input: (fi) => ({ upn: (fi as { upn: string }).upn }), note: PASSWORD_NOTE },
    'radius.disconnect': { none: RADIUS_NONE },
    'firewall.block': { action: 'firewall.unblock', input: (_fi, fo) => ({ ips: (fo as { devices: Array<{ added: string[] }> }).devices.flatMap((d) => d.added) }) },
    'mail.notifyCiso': { none: MAIL_NONE },
  };
  return defs.map((d) => (decls[d.name] ? { ...d, inverse: decls[d.name] } : d));
}

export function releaseActions(rec: Recorder, classified: Array<Record<string, unknown>>): ActionDef[] {
  const upn = z.string().min(3);
  const release: ActionDef<{ upn: string }, unknown> = {
    name: 'identity.release', risk: 'change', description: 'enable the account', input: z.object({ upn }).strict(),
    async preview(i) {
      return rec.world.disabled.has(i.upn)
        ? { title: `Enable ${i.upn}`, facts: [], changes: [`Enable ${i.upn} (disabled now)`], warnings: [] }
        : { title: `Enable ${i.upn}`, facts: [], changes: [], warnings: [], nothingToDo: true, notChanged: [{ item: i.upn, reason: 'already enabled' }] };
    },
    async run(i, ctx) {
      return (await rec.enter('identity.release', ctx.incidentId, i, ctx.mayHaveRun, () => {
        if (!rec.world.disabled.has(i.upn)) return { output: { alreadyEnabled: true }, summary: `${i.upn} was already enabled: not changed`, raw: [] };
        rec.world.disabled.delete(i.upn);
        return { output: { enabled: true }, summary: `${i.upn} enabled`, raw: [{ source: 'test.identity.release', contentType: 'application/json', body: Buffer.from('{"accountEnabled":true}'), collectedAt: new Date().toISOString() }] };
      })) as never;
    },
  };
  const unblock: ActionDef<{ ips: string[] }, unknown> = {
    name: 'firewall.unblock', risk: 'change', description: 'remove the IPs from the block group', input: z.object({ ips: z.array(z.string()).min(1) }).strict(),
    async preview(i) {
      const now = i.ips.filter((ip) => rec.world.blocked.has(ip));
      return { title: 'Unblock', facts: [], changes: now.map((ip) => `Remove ${ip} from the block group`), warnings: [], nothingToDo: now.length === 0 };
    },
    async run(i, ctx) {
      return (await rec.enter('firewall.unblock', ctx.incidentId, i, ctx.mayHaveRun, () => {
        const removed = i.ips.filter((ip) => rec.world.blocked.delete(ip));
        return { output: { removed }, summary: `removed ${removed.join(', ') || 'nothing'}`, raw: [{ source: 'test.firewall.unblock', contentType: 'text/plain', body: Buffer.from(`unblock ${removed.join(' ')}`), collectedAt: new Date().toISOString() }] };
      })) as never;
    },
  };
  const classify: ActionDef<Record<string, unknown>, unknown> = {
    name: 'alerts.classify', risk: 'change', description: 'classify the alerts',
    input: z.object({ alertIds: z.array(z.string()).min(1), classification: z.string(), comment: z.string() }).strict(),
    async run(i, ctx) {
      return (await rec.enter('alerts.classify', ctx.incidentId, i, ctx.mayHaveRun, () => {
        classified.push(i);
        return { output: i, summary: `classified ${String(i.classification)}`, raw: [] };
      })) as never;
    },
  };
  return [release, unblock, classify] as ActionDef[];
}

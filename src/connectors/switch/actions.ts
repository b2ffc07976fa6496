import { z } from 'zod';
import type { SwitchConfig } from '../../config/customers';
import { InvalidInputError, parseIp } from '../../domain/net';
import { ConnectorError, type ActionContext, type ActionDef, type RawPayload } from '../types';
import { SwitchCommandError } from './cli-switch-driver';
import type { PortFacts, SwitchDriver, SwitchDriverFactory } from './driver';
import { createSwitchDriver, switchDrivers } from './registry';
import { formatMac, parseMac, parseRadiusUser, parseSwitchPort, type Mac, type SwitchPort } from './switch-values';

// --- input: the shape is checked up front; each row's values are checked on their own in run(),
// so that one bad row is refused and the others still go on.

const text = (max: number) => z.string().max(max);
export const portFactsRow = z.object({
  nasIp: text(64),
  nasPortId: text(128),
  callingStationId: text(64),
  username: text(256).optional(),
});
export const portFactsInput = z.object({ sessions: z.array(portFactsRow).min(1).max(50) });
export type PortFactsInput = z.infer<typeof portFactsInput>;

export interface PortFactsRowResult {
  nasIp: string;
  nasPortId: string;
  outcome: 'ok' | 'refused' | 'failed';
  /** the timeline line for this port, or why there is none */
  line: string;
  switchId?: string;
  port?: string;
  facts?: PortFacts;
}
export interface PortFactsOutput { ports: PortFactsRowResult[] }

export interface SwitchActionDeps { drivers?: Record<string, SwitchDriverFactory> }

interface Target { row: z.infer<typeof portFactsRow>; config: SwitchConfig; port: SwitchPort; mac: Mac; user?: string }

/** Which switch and port a RADIUS row points at, or why it cannot be used. */
function resolveRow(ctx: ActionContext, row: z.infer<typeof portFactsRow>): Target | string {
  let nasIp: string;
  try {
    nasIp = parseIp(row.nasIp, 'nasIp');
  } catch (e) {
    return (e as Error).message;
  }
  const configs = ctx.customer.switches.filter((s) => parseIp(s.nasIp) === nasIp);
  if (!configs.length) return `no switch of ${ctx.customer.name} is configured with NAS-IP-Address ${nasIp}`;
  if (configs.length > 1) return `NAS-IP-Address ${nasIp} is configured for several switches (${configs.map((c) => c.id).join(', ')}): fix the customers file`;
  const config = configs[0];
  try {
    const port = parseSwitchPort(config.kind, row.nasPortId, 'nasPortId');
    const mac = parseMac(row.callingStationId, 'callingStationId');
    const user = row.username === undefined ? undefined : parseRadiusUser(row.username, 'username');
    return { row, config, port, mac, user };
  } catch (e) {
    if (e instanceof InvalidInputError) return `${config.id}: ${e.message}`;
    throw e;
  }
}

/** "Gi1/0/12 on sw-lis-3, VLAN 20, 802.1X authorised as adele.vance, link up, MAC 3c22.fb12.3456" */
export function describePort(f: PortFacts, mac: Mac, radiusUser?: string): string {
  const hex = parseMac(mac, 'mac');
  const session = f.sessions.find((s) => s.mac === hex);
  const learnt = f.macEntries.filter((e) => e.mac === hex);
  const vlan = session?.vlan ?? learnt[0]?.vlan ?? f.status?.vlan;
  const parts = [`${f.port.short} on ${f.switchId}`];
  if (vlan) parts.push(/^\d+$/.test(vlan) ? `VLAN ${vlan}` : `VLAN ${vlan}`);
  if (session) {
    const who = session.userName ?? radiusUser;
    parts.push(`${session.method ?? 'session'} ${session.authorised ? 'authorised' : `not authorised (${session.status})`}${who ? ` as ${who}` : ''}`);
  } else {
    parts.push('no 802.1X/MAB session for this MAC now');
  }
  if (f.status) parts.push(f.status.linkState ? `link ${f.status.linkState}` : f.status.linkUp ? 'link up' : `link ${f.status.status}`);
  const elsewhere = learnt.filter((e) => !samePortText(f, e.port));
  parts.push(`MAC ${f.mac}${!learnt.length ? ' (not in the MAC table)' : elsewhere.length ? ` (learnt on ${elsewhere.map((e) => e.port).join(', ')})` : ''}`);
  const n = f.neighbors[0];
  if (n?.deviceId) parts.push(`${n.protocol.toUpperCase()} neighbour ${n.deviceId}`);
  return parts.join(', ');
}

function samePortText(f: PortFacts, printed: string): boolean {
  try {
    return parseSwitchPort(f.port.kind, printed, 'port').full === f.port.full;
  } catch {
    return false;
  }
}

export function createSwitchActions(deps: SwitchActionDeps = {}): ActionDef[] {
  const portFacts: ActionDef<PortFactsInput, PortFactsOutput> = {
    name: 'switch.portFacts',
    risk: 'read',
    description: 'From RADIUS accounting sessions, finds the access switch and port of each client and reads the port: 802.1X session, MAC table, link, recent port log, CDP/LLDP neighbour.',
    input: portFactsInput,
    async run(input, ctx) {
      const parsed = portFactsInput.safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new InvalidInputError(issue.path.join('.') || 'input', issue.message);
      }
      const results: PortFactsRowResult[] = [];
      const bySwitch = new Map<string, Target[]>();
      const seen = new Set<string>();
      for (const row of parsed.data.sessions) {
        const t = resolveRow(ctx, row);
        if (typeof t === 'string') {
          results.push({ nasIp: row.nasIp, nasPortId: row.nasPortId, outcome: 'refused', line: `refused: ${t}` });
          continue;
        }
        const key = `${t.config.id}|${t.port.full}|${t.mac}`;
        if (seen.has(key)) continue; // Start/Interim/Stop of one session: one port read
        seen.add(key);
        bySwitch.set(t.config.id, [...(bySwitch.get(t.config.id) ?? []), t]);
      }
      const raw: RawPayload[] = [];
      let retryable = false;
      // One shared SSH session per switch; switches in parallel, ports of one switch in turn.
      await Promise.all([...bySwitch.values()].map(async (targets) => {
        const driver: SwitchDriver = createSwitchDriver(targets[0].config, { secrets: ctx.secrets, log: ctx.log }, deps.drivers ?? switchDrivers);
        try {
          for (const t of targets) {
            const base = { nasIp: t.row.nasIp, nasPortId: t.row.nasPortId, switchId: t.config.id, port: t.port.short };
            try {
              const { facts, transcript } = await driver.portFacts(t.port, t.mac);
              raw.push(transcript);
              results.push({ ...base, outcome: 'ok', line: describePort(facts, t.mac, t.user), facts });
            } catch (e) {
              if (e instanceof SwitchCommandError) raw.push(e.transcript);
              if ((e as ConnectorError).retryable) retryable = true;
              results.push({ ...base, outcome: 'failed', line: `${t.port.short} on ${t.config.id} (MAC ${formatMac(t.config.kind, t.mac)}): ${(e as Error).message}` });
            }
          }
        } finally {
          await driver.close().catch(() => undefined);
        }
      }));
      const ok = results.filter((r) => r.outcome === 'ok');
      const failed = results.filter((r) => r.outcome === 'failed');
      if (!ok.length && failed.length) {
        throw new ConnectorError(`no switch port could be read: ${failed.map((r) => r.line).join('; ')}`, { retryable, source: 'switch', raw });
      }
      return {
        output: { ports: results },
        summary: results.map((r) => r.line).join('\n'),
        raw,
      };
    },
  };
  const shutPort: ActionDef<ShutPortInput, ShutPortOutput> = {
    name: 'switch.shutPort',
    risk: 'destructive',
    description: "Shuts the access port a client is plugged in (interface shutdown), where the customer allows it; the undo is 'no shutdown'.",
    input: shutPortInput,
    inverse: {
      action: 'switch.unshutPort',
      // only a port this step shut comes up again: one that was already down stays down
      input: (fwdIn, fwdOut) => {
        const i = fwdIn as Partial<ShutPortInput>;
        const o = fwdOut as Partial<ShutPortOutput> | undefined;
        return { switchId: o?.switchId ?? i.switchId, nasPortId: i.nasPortId, ...(o && o.changed === false ? { onlyIfShutBy: 'nobody' } : {}) };
      },
    },
    async preview(input, ctx) {
      const t = shutTarget(ctx, input);
      const driver = createSwitchDriver(t.config, { secrets: ctx.secrets, log: ctx.log }, deps.drivers ?? switchDrivers);
      try {
        const { shut } = await driver.isShut(t.port);
        return {
          title: `Shut ${t.port.short} on ${t.config.id}`,
          facts: [{ label: 'Switch', value: `${t.config.id} (${t.config.kind})` }, { label: 'Port', value: t.port.full }],
          changes: shut ? [] : [`Shut ${t.port.full} on ${t.config.id} (interface shutdown); undo: no shutdown`],
          warnings: ['Everything on this port loses its link, including a phone or a daisy-chained device'],
          notChanged: shut ? [{ item: t.port.full, reason: 'already administratively down' }] : [],
          nothingToDo: shut,
        };
      } finally {
        await driver.close().catch(() => undefined);
      }
    },
    async run(input, ctx) {
      const t = shutTarget(ctx, input);
      const driver = createSwitchDriver(t.config, { secrets: ctx.secrets, log: ctx.log }, deps.drivers ?? switchDrivers);
      try {
        // shutPort reads the port first: a retry after a crash sends nothing when it is already shut.
        const { changed, transcript } = await driver.shutPort(t.port);
        return {
          output: { switchId: t.config.id, port: t.port.full, changed, undo: { action: 'no shutdown', switchId: t.config.id, port: t.port.full } },
          summary: `${t.port.short} on ${t.config.id} ${changed ? 'shut' : 'was already shut'} (undo: no shutdown on ${t.port.full})`,
          raw: [transcript],
        };
      } finally {
        await driver.close().catch(() => undefined);
      }
    },
  };
  const unshutPort: ActionDef<UnshutPortInput, UnshutPortOutput> = {
    name: 'switch.unshutPort',
    risk: 'change',
    description: "A release's undo of switch.shutPort: brings the port up again (no shutdown), after re-reading it (a port already up is left alone).",
    input: unshutPortInput,
    async preview(input, ctx) {
      const i = unshutPortInput.parse(input);
      const t = portTarget(ctx, i);
      const driver = createSwitchDriver(t.config, { secrets: ctx.secrets, log: ctx.log }, deps.drivers ?? switchDrivers);
      try {
        const { shut } = await driver.isShut(t.port);
        const skip = i.onlyIfShutBy === 'nobody';
        const notChanged = skip ? [{ item: t.port.full, reason: 'the containment found it already shut: it stays shut' }]
          : shut ? [] : [{ item: t.port.full, reason: 'already up (no shutdown by hand?)' }];
        return {
          title: `Bring ${t.port.short} on ${t.config.id} up again`,
          facts: [{ label: 'Switch', value: `${t.config.id} (${t.config.kind})` }, { label: 'Port', value: t.port.full }],
          changes: shut && !skip ? [`No shutdown on ${t.port.full} on ${t.config.id}`] : [],
          warnings: [], notChanged, nothingToDo: !shut || skip,
        };
      } finally {
        await driver.close().catch(() => undefined);
      }
    },
    async run(input, ctx) {
      const i = unshutPortInput.parse(input);
      const t = portTarget(ctx, i);
      if (i.onlyIfShutBy === 'nobody') {
        return { output: { switchId: t.config.id, port: t.port.full, changed: false }, summary: `${t.port.short} on ${t.config.id} left shut: it was shut before the containment`, raw: [] };
      }
      const driver = createSwitchDriver(t.config, { secrets: ctx.secrets, log: ctx.log }, deps.drivers ?? switchDrivers);
      try {
        // noShutPort reads the port first: a port already up (by hand, or an earlier attempt) gets nothing sent.
        const { changed, transcript } = await driver.noShutPort(t.port);
        return {
          output: { switchId: t.config.id, port: t.port.full, changed },
          summary: `${t.port.short} on ${t.config.id} ${changed ? 'up again (no shutdown)' : 'was already up: nothing sent'}`,
          raw: [transcript],
        };
      } finally {
        await driver.close().catch(() => undefined);
      }
    },
  };
  return [portFacts, shutPort, unshutPort];
}

export const shutPortInput = z.object({ switchId: z.string().max(63), nasPortId: text(128) });
export type ShutPortInput = z.infer<typeof shutPortInput>;
export interface ShutPortOutput { switchId: string; port: string; changed: boolean; undo: { action: 'no shutdown'; switchId: string; port: string } }

export const unshutPortInput = z.object({ switchId: z.string().max(63), nasPortId: text(128), onlyIfShutBy: z.literal('nobody').optional() });
export type UnshutPortInput = z.infer<typeof unshutPortInput>;
export interface UnshutPortOutput { switchId: string; port: string; changed: boolean }

/** The switch (of this customer only) and port to bring up again; no allowPortShutdown needed to undo a shut. */
function portTarget(ctx: ActionContext, input: { switchId: string; nasPortId: string }): { config: SwitchConfig; port: SwitchPort } {
  const config = ctx.customer.switches.find((s) => s.id === input.switchId);
  if (!config) throw new InvalidInputError('switchId', `${ctx.customer.name} has no switch ${JSON.stringify(input.switchId.slice(0, 63))}`);
  return { config, port: parseSwitchPort(config.kind, input.nasPortId, 'nasPortId') };
}

/** The switch (of this customer only) and port to shut, refused unless the customer allows it. */
function shutTarget(ctx: ActionContext, input: unknown): { config: SwitchConfig; port: SwitchPort } {
  const r = shutPortInput.safeParse(input);
  if (!r.success) throw new InvalidInputError(r.error.issues[0].path.join('.') || 'input', r.error.issues[0].message);
  const config = ctx.customer.switches.find((s) => s.id === r.data.switchId);
  if (!config) throw new InvalidInputError('switchId', `${ctx.customer.name} has no switch ${JSON.stringify(r.data.switchId.slice(0, 63))}`);
  if (!config.allowPortShutdown) throw new ConnectorError(`shutting ports on ${config.id} is off for ${ctx.customer.name} (switches[].allowPortShutdown: false)`, { source: 'switch' });
  return { config, port: parseSwitchPort(config.kind, r.data.nasPortId, 'nasPortId') };
}

export const switchActions: ActionDef[] = createSwitchActions();

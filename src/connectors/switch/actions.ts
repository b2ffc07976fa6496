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
  const containPort: ActionDef<ContainPortInput, ContainPortOutput> = {
    name: 'switch.containPort',
    risk: 'destructive',
    description: "Contains the user's device at the access switch, as the customer chose (customers file switchContainment): shut-port shuts each port the switch-ports step read over SSH; the undo is 'no shutdown' (switch.unshutPort).",
    input: containPortInput,
    inverse: {
      action: 'switch.unshutPort',
      // only the ports this run shut: a port that was already down stays as it was found
      input: (_forwardInput, forwardOutput) => ({
        ports: ((forwardOutput as ContainPortOutput | null)?.ports ?? []).filter((p) => p.changed).map((p) => ({ switchId: p.switchId, port: p.port })),
      }),
      note: 'no shutdown on each port the containment shut',
    },
    async preview(input, ctx) {
      const mode = containmentMode(ctx);
      const plan = planPorts(ctx, input, 'containment');
      const changes: string[] = [];
      const notChanged = [...plan.refused];
      const facts: Array<{ label: string; value: string }> = [{ label: 'Customer', value: ctx.customer.name }, { label: 'Mode', value: `${mode} (customers file: switchContainment)` }];
      await eachSwitch(plan.targets, deps, ctx, async (driver, t) => {
        facts.push({ label: 'Port', value: `${t.port.full} on ${t.config.id} (${t.config.kind}, NAS ${t.config.nasIp})` });
        const { shut } = await driver.isShut(t.port);
        if (shut) notChanged.push({ item: `${t.port.full} on ${t.config.id}`, reason: 'already administratively down' });
        else changes.push(`Shut ${t.port.full} on ${t.config.id} (interface shutdown); undo: no shutdown`);
      });
      return {
        title: `Shut the switch port${plan.targets.length === 1 ? '' : 's'} of the user's device`,
        facts, changes, notChanged,
        warnings: ['Everything on the port loses its link, including a phone or a daisy-chained device'],
        nothingToDo: changes.length === 0,
        data: { mode, ports: plan.targets.map((t) => ({ switchId: t.config.id, port: t.port.full })) },
      };
    },
    async run(input, ctx) {
      const mode = containmentMode(ctx);
      const plan = planPorts(ctx, input, 'containment');
      if (plan.targets.length === 0) throw new InvalidInputError('ports', `no port to contain: ${plan.refused.map((r) => `${r.item}: ${r.reason}`).join('; ') || 'the switch-ports step read none'}`);
      const ports: ContainedPort[] = [];
      const raw: RawPayload[] = [];
      await eachSwitch(plan.targets, deps, ctx, async (driver, t) => {
        // shutPort reads the port first: a retry after a crash sends nothing when it is already shut.
        const { changed, transcript } = await driver.shutPort(t.port);
        raw.push(transcript);
        ports.push({
          switchId: t.config.id, port: t.port.full, changed,
          line: `${t.port.short} on ${t.config.id} ${changed ? 'shut' : 'was already shut'} (undo: no shutdown on ${t.port.full})`,
          undo: { action: 'no shutdown', switchId: t.config.id, port: t.port.full },
        });
      });
      return { output: { mode, ports, refused: plan.refused }, summary: ports.map((p) => p.line).join('; '), raw };
    },
  };

  const unshutPort: ActionDef<UnshutPortInput, UnshutPortOutput> = {
    name: 'switch.unshutPort',
    risk: 'change',
    description: "Undoes a port shutdown ('no shutdown'): re-reads each port first; a port already up is reported, not changed.",
    input: unshutPortInput,
    async preview(input, ctx) {
      const plan = planPorts(ctx, input, 'undo');
      const changes: string[] = [];
      const notChanged = [...plan.refused];
      await eachSwitch(plan.targets, deps, ctx, async (driver, t) => {
        const { shut } = await driver.isShut(t.port);
        if (shut) changes.push(`Bring ${t.port.full} on ${t.config.id} back up (no shutdown)`);
        else notChanged.push({ item: `${t.port.full} on ${t.config.id}`, reason: 'already up: someone brought it back' });
      });
      return { title: 'Bring the shut switch ports back up', facts: [{ label: 'Customer', value: ctx.customer.name }], changes, notChanged, warnings: [], nothingToDo: changes.length === 0 };
    },
    async run(input, ctx) {
      const plan = planPorts(ctx, input, 'undo');
      const ports: UnshutPortOutput['ports'] = [];
      const raw: RawPayload[] = [];
      await eachSwitch(plan.targets, deps, ctx, async (driver, t) => {
        const { changed, transcript } = await driver.noShutPort(t.port);
        raw.push(transcript);
        ports.push({ switchId: t.config.id, port: t.port.full, changed, line: `${t.port.short} on ${t.config.id} ${changed ? 'brought back up (no shutdown)' : 'was already up: not changed'}` });
      });
      const lines = [...ports.map((p) => p.line), ...plan.refused.map((r) => `${r.item}: ${r.reason}`)];
      return { output: { ports, refused: plan.refused }, summary: lines.join('; ') || 'no port to bring back up', raw };
    },
  };
  return [portFacts, containPort, unshutPort];
}

/** One port as the switch-ports step recorded it (output.ports[]), or as an undo names it. */
const portRef = z.object({ switchId: z.string().max(63).optional(), port: text(128).optional(), outcome: z.string().max(20).optional() }).passthrough();
export const portListInput = z.object({ ports: z.array(portRef).min(1).max(50) });
export type PortListInput = z.infer<typeof portListInput>;
export const containPortInput = portListInput;
export type ContainPortInput = PortListInput;
/** The undo's list may be empty: a containment that found every port already shut leaves nothing to bring up. */
export const unshutPortInput = z.object({ ports: z.array(portRef).max(50) });
export type UnshutPortInput = z.infer<typeof unshutPortInput>;

export interface ContainedPort { switchId: string; port: string; changed: boolean; line: string; undo: { action: 'no shutdown'; switchId: string; port: string } }
export interface ContainPortOutput { mode: 'shut-port'; ports: ContainedPort[]; refused: Array<{ item: string; reason: string }> }
export interface UnshutPortOutput { ports: Array<{ switchId: string; port: string; changed: boolean; line: string }>; refused: Array<{ item: string; reason: string }> }

function containmentMode(ctx: ActionContext): 'shut-port' {
  const mode = ctx.customer.switchContainment;
  if (mode !== 'shut-port') throw new ConnectorError(`switch containment is off for ${ctx.customer.name} (customers file: switchContainment)`, { source: 'switch' });
  return mode;
}

interface PortTarget { config: SwitchConfig; port: SwitchPort }

/**
 * The ports to act on, each checked on its own: this customer's switch, a port name in the vendor's
 * set, shutdown allowed on that switch; rows the port read did not place (outcome not ok) and
 * duplicates are left out with the reason. One bad row never stops the others.
 */
function planPorts(ctx: ActionContext, input: unknown, purpose: 'containment' | 'undo'): { targets: PortTarget[]; refused: Array<{ item: string; reason: string }> } {
  const r = portListInput.safeParse(input);
  if (!r.success) throw new InvalidInputError(r.error.issues[0].path.join('.') || 'input', r.error.issues[0].message);
  const targets: PortTarget[] = [];
  const refused: Array<{ item: string; reason: string }> = [];
  const seen = new Set<string>();
  for (const row of r.data.ports) {
    const item = `${String(row.port ?? '?').slice(0, 128)} on ${String(row.switchId ?? '?').slice(0, 63)}`;
    if (row.outcome !== undefined && row.outcome !== 'ok') { refused.push({ item, reason: 'the port read did not place the device there' }); continue; }
    if (!row.switchId || !row.port) { refused.push({ item, reason: 'no switch or port named' }); continue; }
    const config = ctx.customer.switches.find((s) => s.id === row.switchId);
    if (!config) { refused.push({ item, reason: `${ctx.customer.name} has no such switch` }); continue; }
    if (purpose === 'containment' && !config.allowPortShutdown) { refused.push({ item, reason: `shutting ports on ${config.id} is off (switches[].allowPortShutdown: false)` }); continue; }
    let port: SwitchPort;
    try {
      port = parseSwitchPort(config.kind, row.port, 'port');
    } catch (e) {
      if (e instanceof InvalidInputError) { refused.push({ item, reason: e.message }); continue; }
      throw e;
    }
    const key = `${config.id}|${port.full}`;
    if (seen.has(key)) continue;
    seen.add(key);
    targets.push({ config, port });
  }
  return { targets, refused };
}

/** One shared SSH session per switch, switches in parallel, ports of one switch in turn. */
async function eachSwitch(targets: PortTarget[], deps: SwitchActionDeps, ctx: ActionContext, fn: (driver: SwitchDriver, t: PortTarget) => Promise<void>): Promise<void> {
  const bySwitch = new Map<string, PortTarget[]>();
  for (const t of targets) bySwitch.set(t.config.id, [...(bySwitch.get(t.config.id) ?? []), t]);
  await Promise.all([...bySwitch.values()].map(async (list) => {
    const driver = createSwitchDriver(list[0].config, { secrets: ctx.secrets, log: ctx.log }, deps.drivers ?? switchDrivers);
    try {
      for (const t of list) await fn(driver, t);
    } finally {
      await driver.close().catch(() => undefined);
    }
  }));
}

export const switchActions: ActionDef[] = createSwitchActions();

import { z } from 'zod';
import type { SwitchConfig } from '../../config/customers';
import { InvalidInputError, parseIp } from '../../domain/net';
import { nasForSwitch, portCommandAttributes, sendPortCommands, type PortCommand, type PortCommandRequest } from '../radius/coa/port-command';
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
  /** carried through to the port row: a CoA port command (switchContainment coa-*) names the session by it */
  acctSessionId: text(64).optional(),
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
  /** the session's identifiers as accounting gave them, for a CoA port command (switch.containPort) */
  callingStationId?: string;
  acctSessionId?: string;
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
            const base = {
              nasIp: t.row.nasIp, nasPortId: t.row.nasPortId, switchId: t.config.id, port: t.port.short,
              callingStationId: t.row.callingStationId, ...(t.row.acctSessionId !== undefined ? { acctSessionId: t.row.acctSessionId } : {}),
            };
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
    description: "Contains the user's device at the access switch, as the customer chose (customers file switchContainment): shut-port shuts each port the switch-ports step read over SSH; coa-disable-host-port / coa-bounce-host-port send Cisco's port command in a RADIUS CoA-Request to the switch as NAS. The undo of a shut or disabled port is 'no shutdown' over SSH (switch.unshutPort); a bounce needs none.",
    input: containPortInput,
    inverse: {
      action: 'switch.unshutPort',
      // only the ports this run shut: a port that was already down stays as it was found
      input: (_forwardInput, forwardOutput) => {
        const ports = (forwardOutput as ContainPortOutput | null)?.ports ?? [];
        // the ports left as they were ride along with the reason, for the release card
        const unchanged = ports.filter((p) => !p.changed && !p.failed).map((p) => ({
          item: `${p.port} on ${p.switchId}`,
          reason: 'none' in p.undo ? p.undo.none : 'the containment found it already shut and left it as it was',
        }));
        return {
          ports: ports.filter((p) => p.changed).map((p) => ({ switchId: p.switchId, port: p.port })),
          ...(unchanged.length ? { unchanged } : {}),
        };
      },
      note: 'no shutdown on each port the containment shut or disabled (a CoA disable-host-port leaves the port administratively down, and a CoA cannot re-enable it); a bounced port came back up by itself: nothing to undo',
    },
    async preview(input, ctx) {
      const mode = containmentMode(ctx);
      if (mode !== 'shut-port') return coaPreview(mode, input, ctx, deps);
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
      if (mode !== 'shut-port') return coaRun(mode, input, ctx, deps);
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
      const notChanged = [...plan.refused, ...(unshutPortInput.safeParse(input).data?.unchanged ?? [])];
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
/**
 * The undo's list may be empty: a containment that found every port already shut, or only bounced
 * ports (CoA bounce-host-port), leaves nothing to bring up; `unchanged` says why, for the release card.
 */
export const unshutPortInput = z.object({
  ports: z.array(portRef).max(50),
  unchanged: z.array(z.object({ item: text(200), reason: text(300) })).max(50).optional(),
});
export type UnshutPortInput = z.infer<typeof unshutPortInput>;

export type SwitchContainmentMode = 'shut-port' | 'coa-bounce-host-port' | 'coa-disable-host-port';
export interface ContainedPort {
  switchId: string;
  port: string;
  /** true when this run took the port down and left it down: the undo brings exactly these back */
  changed: boolean;
  line: string;
  undo: { action: 'no shutdown'; switchId: string; port: string } | { none: string };
  /** CoA modes: the NAS did not ACK (NAK with its Error-Cause, or no answer): the port was not contained */
  failed?: boolean;
  /** CoA modes: the NAS that got the CoA-Request and its answer */
  coa?: { nasId: string; command: PortCommand; outcome: string; errorCause?: { code: number; text: string }; detail: string };
}
export interface ContainPortOutput { mode: SwitchContainmentMode; ports: ContainedPort[]; refused: Array<{ item: string; reason: string }> }
export interface UnshutPortOutput { ports: Array<{ switchId: string; port: string; changed: boolean; line: string }>; refused: Array<{ item: string; reason: string }> }

function containmentMode(ctx: ActionContext): SwitchContainmentMode {
  const mode = ctx.customer.switchContainment;
  if (mode === 'off') throw new ConnectorError(`switch containment is off for ${ctx.customer.name} (customers file: switchContainment)`, { source: 'switch' });
  return mode;
}

interface PortTarget { config: SwitchConfig; port: SwitchPort; row: z.infer<typeof portRef> }

/**
 * The ports to act on, each checked on its own: this customer's switch, a port name in the vendor's
 * set, shutdown allowed on that switch; rows the port read did not place (outcome not ok) and
 * duplicates are left out with the reason. One bad row never stops the others.
 */
function planPorts(ctx: ActionContext, input: unknown, purpose: 'containment' | 'undo', keepDuplicates = false): { targets: PortTarget[]; refused: Array<{ item: string; reason: string }> } {
  const r = (purpose === 'undo' ? unshutPortInput : portListInput).safeParse(input);
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
    if (seen.has(key) && !keepDuplicates) continue;
    seen.add(key);
    targets.push({ config, port, row });
  }
  return { targets, refused };
}

// --- CoA modes: Cisco's port commands in a RADIUS CoA-Request to the switch as NAS ----------------

const COMMAND_OF: Record<Exclude<SwitchContainmentMode, 'shut-port'>, PortCommand> = {
  'coa-bounce-host-port': 'bounce-host-port',
  'coa-disable-host-port': 'disable-host-port',
};

interface CoaTarget extends PortTarget { request: PortCommandRequest }

/**
 * The ports a CoA can reach, each checked on its own beyond planPorts: a Cisco IOS switch, the
 * customer's NAS for its NAS-IP-Address, and the session identifiers as accounting gave them
 * (Calling-Station-Id a MAC, Acct-Session-Id and NAS-Port-Id in their grammar); a row that fails
 * is refused with the reason and nothing is sent for it.
 */
function planCoa(mode: Exclude<SwitchContainmentMode, 'shut-port'>, ctx: ActionContext, input: unknown) {
  // duplicates kept until the rows are checked: a bad row must not take the place of a good one for its port
  const plan = planPorts(ctx, input, 'containment', true);
  const command = COMMAND_OF[mode];
  const targets: CoaTarget[] = [];
  const refused = [...plan.refused];
  const seen = new Set<string>();
  for (const t of plan.targets) {
    const item = `${t.port.full} on ${t.config.id}`;
    // one command per port: a bounce or a disable acts on the port, whichever session names it
    if (seen.has(`${t.config.id}|${t.port.full}`)) continue;
    if (t.config.kind !== 'cisco-ios') { refused.push({ item, reason: `${mode} is Cisco's CoA command; ${t.config.id} is ${t.config.kind}` }); continue; }
    const nas = nasForSwitch(ctx.customer.radius, t.config.nasIp);
    if (!nas) { refused.push({ item, reason: `no radius.nas entry for ${t.config.id}'s NAS-IP-Address ${t.config.nasIp}: the CoA has nowhere to go` }); continue; }
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const ref = {
      nasIp: t.config.nasIp,
      callingStationId: str(t.row.callingStationId) ?? '',
      ...(str(t.row.acctSessionId) !== undefined ? { acctSessionId: str(t.row.acctSessionId) } : {}),
      ...(str(t.row.nasPortId) !== undefined ? { nasPortId: str(t.row.nasPortId) } : {}),
    };
    if (!ref.callingStationId) { refused.push({ item, reason: 'no Calling-Station-Id (client MAC) from accounting: the CoA cannot name the session' }); continue; }
    const request: PortCommandRequest = { key: String(targets.length), nas, ref, kind: t.config.kind, command };
    try {
      portCommandAttributes(request.ref, command, request.kind); // each value against its grammar; nothing sent yet
    } catch (e) {
      if (e instanceof InvalidInputError) { refused.push({ item, reason: e.message }); continue; }
      throw e;
    }
    seen.add(`${t.config.id}|${t.port.full}`);
    targets.push({ ...t, request });
  }
  return { targets, refused, command };
}

async function coaPreview(mode: Exclude<SwitchContainmentMode, 'shut-port'>, input: unknown, ctx: ActionContext, deps: SwitchActionDeps) {
  const plan = planCoa(mode, ctx, input);
  const changes: string[] = [];
  const notChanged = [...plan.refused];
  const facts: Array<{ label: string; value: string }> = [{ label: 'Customer', value: ctx.customer.name }, { label: 'Mode', value: `${mode} (customers file: switchContainment)` }];
  const describe = (t: CoaTarget) => `${t.port.full} on ${t.config.id} by RADIUS CoA-Request to NAS ${t.request.nas.id} (${t.request.nas.coaHost ?? t.request.nas.ip}:${t.request.nas.coaPort}), Cisco-AVPair subscriber:command=${plan.command}, client ${t.request.ref.callingStationId}`;
  for (const t of plan.targets) facts.push({ label: 'Port', value: `${t.port.full} on ${t.config.id} (${t.config.kind}, NAS ${t.config.nasIp})` });
  if (plan.command === 'disable-host-port') {
    await eachSwitch(plan.targets, deps, ctx, async (driver, t) => {
      const { shut } = await driver.isShut(t.port);
      if (shut) notChanged.push({ item: `${t.port.full} on ${t.config.id}`, reason: 'already administratively down' });
      else changes.push(`Disable ${describe(t as CoaTarget)}; undo: no shutdown over SSH`);
    });
  } else {
    for (const t of plan.targets) changes.push(`Bounce ${describe(t)}: the link goes down and comes back up; nothing to undo`);
  }
  return {
    title: `${plan.command === 'disable-host-port' ? 'Disable' : 'Bounce'} the switch port${plan.targets.length === 1 ? '' : 's'} of the user's device (RADIUS CoA)`,
    facts, changes, notChanged,
    warnings: [plan.command === 'disable-host-port'
      ? 'Everything on the port loses its link until someone runs no shutdown, including a phone or a daisy-chained device'
      : 'Everything on the port loses its link for a moment and re-authenticates (802.1X / MAB) when it comes back'],
    nothingToDo: changes.length === 0,
    data: { mode, ports: plan.targets.map((t) => ({ switchId: t.config.id, port: t.port.full, nasId: t.request.nas.id })) },
  };
}

async function coaRun(mode: Exclude<SwitchContainmentMode, 'shut-port'>, input: unknown, ctx: ActionContext, deps: SwitchActionDeps) {
  const plan = planCoa(mode, ctx, input);
  if (plan.targets.length === 0) throw new InvalidInputError('ports', `no port to contain: ${plan.refused.map((r) => `${r.item}: ${r.reason}`).join('; ') || 'the switch-ports step read none'}`);
  const ports: ContainedPort[] = [];
  const raw: RawPayload[] = [];
  let toSend = plan.targets;
  if (plan.command === 'disable-host-port') {
    // Read each port first over SSH: a retry after a crash (or a port someone already shut) sends no CoA.
    const down = new Set<CoaTarget>();
    await eachSwitch(plan.targets, deps, ctx, async (driver, t) => {
      const { shut, transcript } = await driver.isShut(t.port);
      if (transcript) raw.push(transcript);
      if (shut) down.add(t as CoaTarget);
    });
    for (const t of down) {
      ports.push({ switchId: t.config.id, port: t.port.full, changed: false, line: `${t.port.short} on ${t.config.id} was already down: no CoA sent`, undo: { none: 'the containment found it down and left it as it was' } });
    }
    toSend = plan.targets.filter((t) => !down.has(t));
  }
  const radius = ctx.customer.radius!; // planCoa found a NAS in it
  const { results, raw: coaRaw } = await sendPortCommands(toSend.map((t) => t.request), radius, { secrets: ctx.secrets, now: () => ctx.now(), signal: ctx.signal });
  raw.push(...coaRaw);
  for (const r of results) {
    const t = toSend.find((x) => x.request.key === r.key)!;
    const coa = { nasId: r.nasId, command: plan.command, outcome: r.outcome, ...(r.errorCause ? { errorCause: r.errorCause } : {}), detail: r.detail };
    const base = { switchId: t.config.id, port: t.port.full, coa };
    if (r.outcome !== 'ack') {
      ports.push({ ...base, changed: false, failed: true, line: `${t.port.short} on ${t.config.id} NOT ${plan.command === 'disable-host-port' ? 'disabled' : 'bounced'}: ${r.detail}`, undo: { none: 'nothing was changed' } });
    } else if (plan.command === 'disable-host-port') {
      ports.push({ ...base, changed: true, line: `${t.port.short} on ${t.config.id} disabled by CoA (${r.detail}) (undo: no shutdown on ${t.port.full})`, undo: { action: 'no shutdown', switchId: t.config.id, port: t.port.full } });
    } else {
      // A bounce takes the link down and up again by itself: the port is as it was, so the undo
      // (which brings back ports marked changed) has nothing to do for it.
      ports.push({ ...base, changed: false, line: `${t.port.short} on ${t.config.id} bounced by CoA (${r.detail}): nothing to undo, the port came back up by itself`, undo: { none: 'a bounce ends by itself: the link went down and came back up' } });
    }
  }
  const failed = ports.filter((p) => p.failed);
  if (failed.length && failed.length === ports.length) {
    throw new ConnectorError(`no switch port was contained: ${failed.map((p) => p.line).join('; ')}`, { source: 'radius.coa', raw });
  }
  const lines = [...ports.map((p) => p.line), ...plan.refused.map((r) => `${r.item}: ${r.reason}`)];
  return { output: { mode, ports, refused: plan.refused } as ContainPortOutput, summary: lines.join('; '), raw };
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

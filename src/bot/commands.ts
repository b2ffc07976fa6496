import { parseIncidentId } from '../domain/incident-id';
import type { BotOperations, Clicker, OpResult } from './operations';

/**
 * The `@ir ...` commands, declared once (Hubot's CommandBus): name, typed arguments, who may run
 * it, help line and handler. The parser, the help text, the dispatch, the permission check and
 * the Teams manifest's `commandLists` (scripts/package-manifest.ts) are all derived from COMMANDS.
 */

/** Who may run a command: anyone who can talk to the bot, a customer's readers, or its approvers (approvers read too). */
export type CommandRole = 'anyone' | 'reader' | 'approver';

export type ArgType = 'incident' | 'step' | 'upn' | 'customer' | 'text';
export interface ArgSpec {
  readonly name: string;
  readonly type: ArgType;
  readonly optional?: boolean;
}

type ArgValue<S extends ArgSpec> = S extends { optional: true } ? string | undefined : string;
export type ArgsOf<A extends readonly ArgSpec[]> = { [S in A[number] as S['name']]: ArgValue<S> };

/** What a command answers: a line of markdown or an Adaptive Card. */
export type CommandOutput = { text: string } | { card: Record<string, unknown> };

/** What a handler may use; the bot builds it per message (src/bot/teams-app.ts). */
export interface CommandEnv {
  botName: string;
  asker: Clicker;
  ops: BotOperations;
  /** the customers the asker reads (approvers included): listings are filtered to these */
  readable: ReadonlySet<string>;
  /** the open (or latest) incidents of those customers as a status card */
  statusCard(open: boolean): Promise<Record<string, unknown>>;
  /** an approval's card as an approver sees it (with the buttons); undefined when it is not known */
  approvalCard(approvalId: string): Promise<Record<string, unknown> | undefined>;
  /** one incident in full; undefined when there is no such incident */
  timelineCard(incidentId: string): Promise<Record<string, unknown> | undefined>;
}

export interface CommandDecl<A extends readonly ArgSpec[] = readonly ArgSpec[]> {
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly args: A;
  readonly role: CommandRole;
  /** the help line (and, with the usage, the manifest's description) */
  readonly help: string;
  /**
   * For a command without an incident argument whose customer is not "all I read": which customer
   * it acts on (`contain`: from the account's domain). An error string is shown as the refusal.
   */
  readonly customerOf?: (args: ArgsOf<A>, env: CommandEnv) => { customerId: string } | { error: string };
  readonly run: (args: ArgsOf<A>, env: CommandEnv) => Promise<CommandOutput>;
}

const defineCommand = <const A extends readonly ArgSpec[]>(d: CommandDecl<A>): CommandDecl => d as unknown as CommandDecl;

const said = (r: OpResult, okDefault: string): CommandOutput => ({ text: r.ok ? r.message || okDefault : `Not done: ${r.reason}` });

export const COMMANDS: readonly CommandDecl[] = [
  defineCommand({
    name: 'help', aliases: ['?'], args: [], role: 'anyone', help: 'the commands and what each one does',
    run: async (_a, env) => ({ text: helpText(env.botName) }),
  }),
  defineCommand({
    name: 'status', args: [{ name: 'incident', type: 'incident', optional: true }], role: 'reader',
    help: 'open incidents of your customers (user, severity, current step, pending approvals), or one incident in full',
    run: async (a, env) => {
      if (!a.incident) return { card: await env.statusCard(true) };
      const card = await env.timelineCard(a.incident);
      return card ? { card } : { text: `No incident ${a.incident}.` };
    },
  }),
  defineCommand({
    name: 'incidents', args: [], role: 'reader', help: 'the latest incidents of your customers, open and closed',
    run: async (_a, env) => ({ card: await env.statusCard(false) }),
  }),
  defineCommand({
    name: 'contain', args: [{ name: 'upn', type: 'upn' }, { name: 'customer', type: 'customer', optional: true }], role: 'approver',
    help: 'start containment for an account without an alert (same approvals)',
    customerOf: (a, env) => env.ops.customerFor({ upn: a.upn, customerId: a.customer }),
    run: async (a, env) => {
      const r = await env.ops.contain({ upn: a.upn, customerId: a.customer, clicker: env.asker });
      return said(r, `Containment started: ${r.ok && r.incidentId ? r.incidentId : ''}`);
    },
  }),
  defineCommand({
    name: 'approve', args: [{ name: 'incident', type: 'incident' }, { name: 'step', type: 'step' }], role: 'approver',
    help: 'approve a pending step (for clients without card buttons)',
    run: async (a, env) => said(await env.ops.decideByStep({ incidentId: a.incident, stepId: a.step, vote: 'approve', clicker: env.asker }), `Approved: ${a.incident} ${a.step}`),
  }),
  defineCommand({
    name: 'reject', args: [{ name: 'incident', type: 'incident' }, { name: 'step', type: 'step' }, { name: 'reason', type: 'text' }], role: 'approver',
    help: 'reject a pending step, with the reason',
    run: async (a, env) => said(await env.ops.decideByStep({ incidentId: a.incident, stepId: a.step, vote: 'reject', clicker: env.asker, reason: a.reason }), `Rejected: ${a.incident} ${a.step}`),
  }),
  defineCommand({
    name: 'retry', args: [{ name: 'incident', type: 'incident' }, { name: 'step', type: 'step' }], role: 'approver',
    help: 'ask again for an expired, failed or rejected step',
    run: async (a, env) => said(await env.ops.retry({ incidentId: a.incident, stepId: a.step, clicker: env.asker }), `Asked again: ${a.incident} ${a.step}`),
  }),
  defineCommand({
    name: 'cancel', args: [{ name: 'incident', type: 'incident' }], role: 'approver', help: 'stop an incident\'s procedure',
    run: async (a, env) => said(await env.ops.cancel({ incidentId: a.incident, clicker: env.asker }), `Cancelled ${a.incident}`),
  }),
  defineCommand({
    name: 'report', args: [{ name: 'incident', type: 'incident' }], role: 'reader', help: 'regenerate the forensic report and post it in the incident\'s thread',
    run: async (a, env) => said(await env.ops.report({ incidentId: a.incident, clicker: env.asker }), `Report for ${a.incident} posted in its thread`),
  }),
  defineCommand({
    name: 'verify', args: [{ name: 'incident', type: 'incident' }], role: 'reader', help: 'recompute the evidence hashes and the timeline chain',
    run: async (a, env) => said(await env.ops.verify({ incidentId: a.incident }), `Evidence of ${a.incident} verified`),
  }),
  defineCommand({
    name: 'handoff', args: [], role: 'reader', help: 'post the shift handoff in the IR channel now',
    run: async (_a, env) => said(await env.ops.handoff({ clicker: env.asker }), 'Handoff posted'),
  }),
  defineCommand({
    name: 'close', args: [{ name: 'incident', type: 'incident' }, { name: 'reason', type: 'text' }], role: 'approver',
    help: 'close an incident and resolve its Defender alert',
    run: async (a, env) => said(await env.ops.close({ incidentId: a.incident, reason: a.reason, clicker: env.asker }), `Closed ${a.incident}`),
  }),
  defineCommand({
    name: 'release', args: [{ name: 'incident', type: 'incident' }, { name: 'reason', type: 'text' }], role: 'approver',
    help: 'undo a false positive\'s containment: one card listing each undo, one approval',
    run: async (a, env) => {
      const r = await env.ops.release({ incidentId: a.incident, reason: a.reason, clicker: env.asker });
      if (!r.ok) return { text: `Not done: ${r.reason}` };
      const card = r.approvalId ? await env.approvalCard(r.approvalId) : undefined;
      return card ? { card } : { text: r.message ?? `Release of ${a.incident} waiting for approval` };
    },
  }),
];

/** `<incident> <step> [customer]`: the arguments as the help text and the manifest show them. */
export function usage(c: CommandDecl): string {
  return c.args.map((a) => (a.optional ? `[${a.name}]` : `<${a.name}>`)).join(' ');
}

export type ParsedCommand =
  | { kind: 'command'; command: CommandDecl; args: Record<string, string | undefined> }
  | { kind: 'unknown'; text: string; problem?: string };

const STEP_ID = /^[a-z][a-z0-9-]{0,62}$/i;
const CUSTOMER_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Removes `<at>...</at>` mentions and HTML the client may wrap the text in. */
export function stripMentions(text: string): string {
  return text
    .replace(/<at>[^<]*<\/at>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** One argument from the words left; `text` takes all of them. Returns a problem string when invalid. */
function readArg(spec: ArgSpec, words: string[]): { value?: string; problem?: string } {
  if (spec.type === 'text') {
    const value = words.splice(0).join(' ').slice(0, 500);
    return { value: value || undefined };
  }
  const w = words.shift();
  if (w === undefined) return {};
  switch (spec.type) {
    case 'incident': {
      const id = parseIncidentId(w);
      return id ? { value: id } : { problem: `"${w.slice(0, 40)}" is not an incident id (like IR-20261127-7K3Q)` };
    }
    case 'step':
      return STEP_ID.test(w) ? { value: w.toLowerCase() } : { problem: `"${w.slice(0, 40)}" is not a step id (see the timeline card)` };
    case 'customer':
      return CUSTOMER_ID.test(w.toLowerCase()) ? { value: w.toLowerCase() } : { problem: `"${w.slice(0, 40)}" is not a customer id` };
    case 'upn':
      return w.length <= 256 ? { value: w } : { problem: 'that account name is too long' };
  }
}

export function parseCommand(rawText: string): ParsedCommand {
  const text = stripMentions(rawText);
  const words = text.split(' ').filter(Boolean);
  if (words[0]?.toLowerCase() === 'ir' || words[0]?.toLowerCase() === '@ir') words.shift();
  const verb = (words.shift() ?? 'help').toLowerCase();
  const command = COMMANDS.find((c) => c.name === verb || c.aliases?.includes(verb));
  if (!command) return { kind: 'unknown', text };
  const args: Record<string, string | undefined> = {};
  const use = `@ir ${command.name} ${usage(command)}`.trim();
  for (const spec of command.args) {
    const r = readArg(spec, words);
    if (r.problem) return { kind: 'unknown', text, problem: `${r.problem}: ${use}` };
    if (r.value === undefined && !spec.optional) return { kind: 'unknown', text, problem: `${command.name} needs ${command.args.filter((a) => !a.optional).map((a) => `the ${a.name}`).join(' and ')}: ${use}` };
    args[spec.name] = r.value;
  }
  return { kind: 'command', command, args };
}

const ROLE_NOTE: Record<CommandRole, string> = { anyone: '', reader: '', approver: ' (approvers)' };

export function helpText(botName: string, problem?: string): string {
  const lines = COMMANDS.map((c) => `- **@${botName} ${`${c.name} ${usage(c)}`.trim()}**: ${c.help}${ROLE_NOTE[c.role]}`);
  return `${problem ? `${problem}\n\n` : ''}Commands (in the IR channel, or in a personal chat with me):\n\n${lines.join('\n')}`;
}

/** The manifest's `commandLists` (Teams: title at most 32 characters, description at most 128). */
export function manifestCommandLists(): Array<{ scopes: string[]; commands: Array<{ title: string; description: string }> }> {
  // Teams takes at most 12 commands per list; the list itself is the help a client shows, so `help`
  // (which the bot also answers to anything it does not know) is the one left out.
  const commands = COMMANDS.filter((c) => !c.aliases?.includes(c.name) && c.name !== 'help').map((c) => {
    const u = usage(c);
    const description = `${c.help[0].toUpperCase()}${c.help.slice(1)}${u ? `: ${c.name} ${u}` : ''}.`;
    return { title: c.name, description: description.length <= 128 ? description : `${description.slice(0, 127)}…` };
  });
  return [{ scopes: ['team', 'personal'], commands }];
}

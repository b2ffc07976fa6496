import { z } from 'zod';

/**
 * IncidentFindings: the one typed read model of what an incident's procedure recorded (its steps'
 * `record:` keys, kept in incident.data) and of what the engine keeps there itself (the step list,
 * the IP selection). The timeline card, the report, the CISO email, the handoff and the operator
 * API read findings only through readFindings(); a procedure's `record:` keys are checked against
 * RECORDED_FINDINGS when it is loaded, so a writer and its readers cannot drift apart unnoticed.
 */

const text = (max: number) => z.string().max(max);
const count = z.number().int().nonnegative();
const isoTime = z.string().max(40).refine((s) => !Number.isNaN(Date.parse(s)), 'not a time');

/** One end of an impossible-travel hop: a successful sign-in (src/domain/travel.ts). */
const travelEnd = z.object({
  at: isoTime,
  ip: text(64).nullable().default(null),
  place: text(200),
  city: text(200).nullable().default(null),
  country: text(8).nullable().default(null),
}).passthrough();

const travelHop = z.object({
  from: travelEnd,
  to: travelEnd,
  distanceKm: z.number().nonnegative(),
  minutes: z.number().nonnegative(),
  speedKmh: z.number().nonnegative(),
  summary: text(400),
}).passthrough();

/** A sensitive Microsoft 365 operation (src/connectors/graph/m365-audit.ts AuditFinding). */
const sensitiveOperation = z.object({
  at: text(40),
  operation: text(200),
  clientIp: text(64).nullable().default(null),
  detail: text(400).nullable().default(null),
}).passthrough();

const containmentChange = z.object({
  step: z.enum(['disable', 'revokeSessions', 'resetPassword', 'confirmCompromised', 'adDisable', 'adResetPassword']),
  changed: z.boolean(),
  skippedBecause: text(400).optional(),
}).passthrough();

const matchedRule = z.object({
  firewallId: text(63),
  policyId: text(64).nullable(),
  policyName: text(200).nullable(),
  action: text(40),
  allows: z.boolean(),
  implicit: z.boolean(),
}).passthrough();

/** Sessions seen in the sign-in logs and which kinds of sign-in were counted (src/connectors/graph/token-activity.ts). */
const tokenActivity = z.object({
  kinds: z.array(z.enum(['interactiveUser', 'nonInteractiveUser'])).min(1),
  interactive: count,
  nonInteractive: count.nullable(),
  sessions: count,
  onlyInteractiveBecause: text(400).nullable().default(null),
  counted: text(100),
}).passthrough();

const blockedIp = z.object({ ip: text(64), addedAt: isoTime, expiresAt: isoTime }).passthrough();

/** lastLogon is per DC (not replicated): one row per DC the lookup asked (src/connectors/active-directory). */
const dcLogon = z.object({
  dc: text(300),
  lastLogon: text(40).nullish(),
  badPwdCount: count.nullish(),
  error: text(1000).nullish(),
}).passthrough();

/** The account as the customer's Active Directory has it (AccountState of ad.lookupAccount). */
const adAccount = z.object({
  sid: text(200),
  samAccountName: text(256),
  dn: text(2000),
  userPrincipalName: text(300).nullish(),
  displayName: text(300).nullish(),
  enabled: z.boolean(),
  lockedOut: z.boolean().optional(),
  userAccountControl: count.optional(),
  pwdLastSet: text(40).nullish(),
  lastLogonTimestamp: text(40).nullish(),
  lockoutTime: text(40).nullish(),
  badPwdCount: count.nullish(),
  /** privileged groups, transitively (Domain Admins, Backup Operators …) */
  privilegedGroups: z.array(text(200)),
  lastLogonPerDc: z.array(dcLogon).max(100).default([]),
  /** the DC that answered */
  dc: text(300).nullish(),
}).passthrough();

/** The account as Entra has it (EntraUser of the lookup); onPremises is null for a cloud-only account. */
const entraAccount = z.object({
  objectId: text(64),
  userPrincipalName: text(300),
  displayName: text(300).nullish(),
  accountEnabled: z.boolean(),
  directoryRoles: z.array(text(200)).default([]),
  privilegedRoles: z.array(text(200)).default([]),
  onPremises: z.object({
    syncEnabled: z.boolean(),
    securityIdentifier: text(200).nullish(),
    samAccountName: text(256).nullish(),
    domainName: text(300).nullish(),
    distinguishedName: text(2000).nullish(),
    lastSyncDateTime: text(40).nullish(),
  }).passthrough().nullable().default(null),
}).passthrough();

/** One device of the account (src/connectors/identity/devices.ts AccountDevice). */
const accountDevice = z.object({
  name: text(300),
  deviceId: text(64).nullish(),
  os: text(200).nullish(),
  trustType: text(60).nullish(),
  compliant: z.boolean().nullish(),
  managed: z.boolean().nullish(),
  lastSeen: text(40).nullish(),
  seenIn: z.array(z.enum(['alert', 'sign-in', 'registered', 'owned'])),
  signIns: count.default(0),
}).passthrough();

/** A storm account as storm-accounts resolved it (src/connectors/storm/identity-many.ts StormAccount). */
const stormAccount = z.object({
  label: text(300),
  upn: text(300).nullable(),
  placement: z.enum(['cloud', 'synced', 'onPremises']),
  sid: text(200).nullable().default(null),
  domain: text(64).nullable().default(null),
  objectId: text(64).nullable().default(null),
  displayName: text(300).nullable().default(null),
  enabled: z.boolean().nullable().default(null),
  privilegedRoles: z.array(text(200)).default([]),
}).passthrough();

/** What storm-contain did to one account (ContainedAccount): the card counts them, names the failed ones. */
const stormContainedAccount = z.object({
  label: text(300),
  upn: text(300).nullable(),
  placement: z.enum(['cloud', 'synced', 'onPremises']),
  status: z.enum(['contained', 'failed']),
  changed: z.array(text(40)).default([]),
  already: z.array(text(40)).default([]),
  error: text(1000).optional(),
}).passthrough();

/**
 * Every key a procedure step may record, with the shape its readers expect. Adding a finding is
 * one line here (and the readers that show it); a `record:` key not listed stops start-up.
 */
export const RECORDED_FINDINGS = {
  subjectObjectId: text(64),
  subjectEnabled: z.boolean(),
  /** where the lookup found the account (identity.resolve): an `onPremises` subject has no Entra user */
  subjectPlacement: z.enum(['cloud', 'synced', 'onPremises', 'notFound']),
  subjectPrivilegedRoles: z.array(text(200)),
  /** the account in the customer's AD (null: not an on-premises account, or AD not read; the lookup's summary says why) */
  adAccount: adAccount.nullable(),
  /** the account in Entra (null: no Entra user, an on-premises-only account) */
  entraAccount: entraAccount.nullable(),
  /** every identifier of the account in both directories (the store matches later alerts by them: src/domain/subject-identity.ts) */
  subjectIdentifiers: z.array(text(400)).max(50),
  /** its devices: alert evidence, sign-ins' deviceDetail, registered/owned Entra devices */
  subjectDevices: z.array(accountDevice).max(500),
  signIns24h: count,
  signInsFailed24h: count,
  /** countries or regions of the successful sign-ins, most frequent first */
  countries: z.array(text(8)),
  impossibleTravel: z.array(travelHop),
  /** sessions in the sign-in logs, saying whether non-interactive sign-ins were counted */
  tokenActivity,
  directoryAudits6h: count,
  sensitiveOperations6h: count,
  sensitiveOperations: z.array(sensitiveOperation),
  sessionsFound: count,
  sessionsDisconnected: count,
  vpnSessionsFound: count,
  /** one line per RADIUS session's switch port: "Gi1/0/12 on sw-lis-3, VLAN 20, 802.1X authorised as …" */
  switchPorts: z.array(text(1000)),
  /** the firewall rule that matched each attacker IP (src/connectors/firewall/driver.ts PolicyMatch) */
  matchedRules: z.array(matchedRule),
  /** one line per port the switch containment shut (or found shut), with its undo */
  switchPortsContained: z.array(text(400)),
  entraContainment: text(1000),
  entraChanges: z.array(containmentChange),
  ipsBlocked: z.array(text(64)),
  /** the threat-feed entries of the blocked IPs: when each block is taken off again */
  ipBlocks: z.array(blockedIp),
  vpnSessionsRevoked: count,
  /** a storm's accounts that storm-accounts resolved (every round's, in order) */
  stormResolved: z.array(stormAccount).max(5000),
  /** a storm's accounts that could not be resolved, each with why */
  stormUnresolved: z.array(z.object({ label: text(300), reason: text(1000) }).passthrough()).max(5000),
  /** per account, what storm-contain (and each further round) did */
  stormContained: z.array(stormContainedAccount).max(5000),
  /** RADIUS sessions storm-disconnect ended over all the storm's accounts */
  stormSessionsEnded: count,
  report: text(300),
  ticketNumber: text(60),
  ticket: z.object({ number: text(60), link: text(500).optional(), sysId: text(64).optional() }).passthrough(),
} as const;

export type RecordedFindingKey = keyof typeof RECORDED_FINDINGS;

export function isRecordedFindingKey(key: string): key is RecordedFindingKey {
  return Object.prototype.hasOwnProperty.call(RECORDED_FINDINGS, key);
}

/** What the bot writes into incident.data itself (the engine; the intake the alert's link): never a procedure's `record:` key. */
export const ENGINE_DATA_KEYS: readonly string[] = ['steps', 'ipSelection', 'alertWebUrl', 'storm', 'partOfStorm'];

export type StepKind = 'lookup' | 'containment' | 'followUp';

const stepView = z.object({
  title: text(200).optional(),
  action: text(100).optional(),
  status: text(40).optional(),
  summary: z.string().nullable().optional(),
  error: z.string().nullable().optional(),
  kind: z.enum(['lookup', 'containment', 'followUp']).optional(),
}).passthrough();

/** A storm incident's own description (src/intake/storm.ts): what the storm is and the threshold that opened it. */
const stormInfo = z.object({
  key: text(64),
  detectorId: text(200).nullable().optional(),
  title: text(5000),
  minUsers: count,
  windowMinutes: count,
}).passthrough();

const ipSelection = z.object({
  block: z.array(text(64)),
  notBlocked: z.array(z.object({ ip: text(80), reason: text(400) })),
});

export interface StepView {
  id: string;
  title: string;
  action: string | null;
  status: string | null;
  summary: string | null;
  error: string | null;
  /** what the step is for; null for incidents recorded before the engine said so */
  kind: StepKind | null;
}

export type TravelHop = z.infer<typeof travelHop>;
export type SensitiveOperation = z.infer<typeof sensitiveOperation>;
export type ContainmentChange = z.infer<typeof containmentChange>;
export type BlockedIp = z.infer<typeof blockedIp>;
export type TokenActivityFinding = z.infer<typeof tokenActivity>;
export type AdAccountFinding = z.infer<typeof adAccount>;
export type EntraAccountFinding = z.infer<typeof entraAccount>;
export type AccountDeviceFinding = z.infer<typeof accountDevice>;
export type StormAccountFinding = z.infer<typeof stormAccount>;
export type StormContainedFinding = z.infer<typeof stormContainedAccount>;

export type IncidentFindings = { -readonly [K in RecordedFindingKey]?: z.infer<(typeof RECORDED_FINDINGS)[K]> } & {
  /** the procedure's steps in its order */
  steps: StepView[];
  ipSelection?: z.infer<typeof ipSelection>;
  /** the Defender link of the alert that opened the incident (shown as text, never as a link) */
  alertWebUrl?: string;
  /** set on a storm incident (intake): its accounts are those of its alerts */
  storm?: z.infer<typeof stormInfo>;
  /** set on an incident opened before its storm's threshold: the storm incident's id */
  partOfStorm?: string;
  /** keys in incident.data that are not findings or whose value has not the expected shape (kept for the raw data) */
  unreadable: string[];
};

/**
 * Reads incident.data. A value of the wrong shape is left out (and named in `unreadable`) rather
 * than failing the whole card or report: the raw data stays in the report below the summary.
 */
export function readFindings(data: Record<string, unknown> | null | undefined): IncidentFindings {
  const d = data ?? {};
  const out: IncidentFindings = { steps: readSteps(d.steps), unreadable: [] };
  const target = out as Record<string, unknown>;
  for (const [key, value] of Object.entries(d)) {
    if (key === 'steps' || value === undefined || value === null) continue;
    if (key === 'ipSelection') {
      const r = ipSelection.safeParse(value);
      if (r.success) out.ipSelection = r.data; else out.unreadable.push(key);
      continue;
    }
    if (key === 'storm') {
      const r = stormInfo.safeParse(value);
      if (r.success) out.storm = r.data; else out.unreadable.push(key);
      continue;
    }
    if (key === 'partOfStorm') {
      if (typeof value === 'string' && value.length <= 64) out.partOfStorm = value; else out.unreadable.push(key);
      continue;
    }
    if (key === 'alertWebUrl') {
      if (typeof value === 'string' && value.length <= 2000) out.alertWebUrl = value; else out.unreadable.push(key);
      continue;
    }
    if (!isRecordedFindingKey(key)) { out.unreadable.push(key); continue; }
    const r = (RECORDED_FINDINGS[key] as z.ZodTypeAny).safeParse(value);
    if (r.success) target[key] = r.data; else out.unreadable.push(key);
  }
  return out;
}

function readSteps(value: unknown): StepView[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  const out: StepView[] = [];
  for (const [id, raw] of Object.entries(value as Record<string, unknown>)) {
    const r = stepView.safeParse(raw);
    const s = r.success ? r.data : {};
    out.push({
      id,
      title: titleFor(id, s.title),
      action: s.action ?? null,
      status: s.status ?? null,
      summary: typeof s.summary === 'string' ? s.summary : null,
      error: typeof s.error === 'string' ? s.error : null,
      kind: s.kind ?? null,
    });
  }
  return out;
}

/** 'entra-contain' → 'Entra contain', unless the procedure gave the step a title. */
function titleFor(stepId: string, given?: unknown): string {
  if (typeof given === 'string' && given.trim()) return given.trim();
  const s = stepId.replace(/[-_.]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The one step-title lookup: the procedure's title for the step, else its id made readable. */
export function stepTitle(findings: Pick<IncidentFindings, 'steps'>, stepId: string): string {
  return findings.steps.find((s) => s.id === stepId)?.title ?? titleFor(stepId);
}

/** The step's place in the procedure (unknown steps last). */
export function stepRank(findings: Pick<IncidentFindings, 'steps'>, stepId: string): number {
  const i = findings.steps.findIndex((s) => s.id === stepId);
  return i < 0 ? findings.steps.length : i;
}

/** The sensitive operations that forward mail out of the tenant (inbox rules, mailbox forwarding). */
export function forwardingRules(f: IncidentFindings): SensitiveOperation[] {
  return (f.sensitiveOperations ?? []).filter((o) => typeof o.detail === 'string' && /^forwards to /i.test(o.detail));
}

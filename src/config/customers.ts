import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isIP } from 'node:net';
import { SECRET_REF } from './secrets';

// The customers file: one entry per customer tenant of the MSP. Credentials appear only as
// secret references (env:NAME / file:/path); a literal secret in this file is refused.

const secretRef = z.string().regex(SECRET_REF, 'must be a secret reference (env:NAME or file:/path), never a literal secret');
const guid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a GUID');
const id = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes');
const host = z.string().regex(/^[A-Za-z0-9.\-:]+$/, 'must be a host name or IP address');
const ip = z.string().refine((v) => isIP(v) !== 0, 'must be an IPv4 or IPv6 address');
const cidr = z.string().refine((v) => {
  const [a, p] = v.split('/');
  const fam = isIP(a);
  return fam !== 0 && (p === undefined || (/^\d+$/.test(p) && Number(p) <= (fam === 4 ? 32 : 128)));
}, 'must be an IP address or CIDR range');
const email = z.string().email();
const port = z.number().int().min(1).max(65535);
const url = z.string().url();

export const sshTargetSchema = z.object({
  host,
  port: port.default(22),
  username: z.string().min(1).regex(/^[A-Za-z0-9._\-@]+$/, 'must be a plain user name'),
  /** password or private key, by reference */
  passwordRef: secretRef.optional(),
  privateKeyRef: secretRef.optional(),
  /** the pinned host key: `SHA256:<base64>` as ssh-keygen -l prints it */
  hostKeySha256: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'must be SHA256:<base64> as ssh-keygen -lf prints it'),
  timeoutMs: z.number().int().positive().default(15000),
}).refine((t) => t.passwordRef || t.privateKeyRef, { message: 'needs passwordRef or privateKeyRef' });
export type SshTarget = z.infer<typeof sshTargetSchema>;

// --- PAN-OS XML API transport (issue 12 part 4) ---
/** `AA:BB:…` (32 pairs, as openssl/Node print a SHA-256 certificate fingerprint) or 64 hex digits */
const certificateSha256 = z.string().regex(/^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$/, 'must be the SHA-256 fingerprint of the certificate (64 hex digits, colons allowed)');
export const panOsApiSchema = z.object({
  /** https://fw.example.net (the API lives at /api/ under it) */
  baseUrl: url.refine((u) => u.startsWith('https://'), 'must be an https:// URL'),
  apiKeyRef: secretRef,
  /** the administrator the API key belongs to: `commit partial` commits only this admin's changes */
  admin: z.string().regex(/^[A-Za-z0-9._\-@]{1,63}$/, 'must be a plain administrator name'),
  /** the device's certificate pinned: a CA (PEM, by reference) or the certificate's SHA-256 fingerprint */
  caCertificateRef: secretRef.optional(),
  certificateSha256: certificateSha256.optional(),
  vsys: z.string().regex(/^[A-Za-z0-9_\-]{1,31}$/).default('vsys1'),
  timeoutMs: z.number().int().positive().default(30000),
}).refine((a) => !!a.caCertificateRef !== !!a.certificateSha256, { message: 'needs exactly one of caCertificateRef or certificateSha256 (the pinned certificate)' });
export type PanOsApiConfig = z.infer<typeof panOsApiSchema>;

export const firewallSchema = z.object({
  id,
  kind: z.enum(['fortigate', 'paloalto']),
  /** how the bot talks to it: the SSH CLI (default), or for PAN-OS the XML API over HTTPS */
  transport: z.enum(['cli', 'api']).optional(),
  /** needed for transport cli */
  ssh: sshTargetSchema.optional(),
  /** needed for transport api */
  api: panOsApiSchema.optional(),
  /** FortiGate: the address group the deny policy uses; PAN-OS: the static address-group */
  blockGroup: z.string().regex(/^[A-Za-z0-9._\-]{1,63}$/).default('IR-Block'),
  /** FortiGate VDOM, when the device has several */
  vdom: z.string().regex(/^[A-Za-z0-9_\-]{1,31}$/).optional(),
  /** PAN-OS GlobalProtect gateway name used for client-logout */
  globalProtectGateway: z.string().regex(/^[A-Za-z0-9._\-]{1,63}$/).optional(),
  /**
   * Where to ask "which rule let it in" (firewall.matchedPolicy): the FortiGate interface the
   * attacker's traffic arrives on, or the PAN-OS zones; the destination/port/protocol a lookup
   * uses when the step gives none (e.g. the published server or VPN portal).
   */
  policyLookup: z.object({
    sourceInterface: z.string().regex(/^[A-Za-z0-9._\-]{1,35}$/).optional(),
    fromZone: z.string().regex(/^[A-Za-z0-9._\-]{1,31}$/).optional(),
    toZone: z.string().regex(/^[A-Za-z0-9._\-]{1,31}$/).optional(),
    destination: ip.optional(),
    port: port.default(443),
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
  }).optional(),
}).superRefine((f, ctx) => {
  if ((f.transport ?? 'cli') === 'cli' && !f.ssh) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['ssh'], message: 'transport cli needs ssh' });
  if (f.transport === 'api' && f.kind !== 'paloalto') ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['transport'], message: 'transport api is available for paloalto only' });
  if (f.transport === 'api' && !f.api) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['api'], message: 'transport api needs api: { baseUrl, apiKeyRef, admin, caCertificateRef or certificateSha256 }' });
});
export type FirewallConfig = z.infer<typeof firewallSchema>;

// --- access switches (issue 12): where a RADIUS session's client is plugged in --------------------
export const switchSchema = z.object({
  id,
  kind: z.enum(['cisco-ios', 'aruba-aoscx']),
  ssh: sshTargetSchema,
  /** the NAS-IP-Address this switch puts in its RADIUS accounting: how a session finds its switch */
  nasIp: ip,
  /** switch.containPort (shutdown of an access port, behind approval) is refused on this switch unless true, whatever the customer's switchContainment */
  allowPortShutdown: z.boolean().default(false),
});
export type SwitchConfig = z.infer<typeof switchSchema>;

export const nasSchema = z.object({
  id,
  ip,
  /** the NAS-Identifier it reports in accounting, when it sends one */
  identifier: z.string().max(253).optional(),
  /** where Disconnect-Requests go; defaults to ip:3799 */
  coaHost: host.optional(),
  coaPort: port.default(3799),
  secretRef,
});
export type NasConfig = z.infer<typeof nasSchema>;

export const radiusSchema = z.object({
  accounting: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('sql'), urlRef: secretRef, table: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('radacct') }),
    z.object({ kind: z.literal('detail-ssh'), ssh: sshTargetSchema, directory: z.string().regex(/^\/[A-Za-z0-9._\-/]+$/).default('/var/log/freeradius/radacct') }),
    // detail files on a file system this process can read (a co-located RADIUS server, the sandbox)
    z.object({ kind: z.literal('detail-local'), directory: z.string().regex(/^\/[A-Za-z0-9._\-/]+$/) }),
  ]),
  disconnect: z.discriminatedUnion('mode', [
    z.object({ mode: z.literal('direct'), timeoutMs: z.number().int().positive().default(3000), retries: z.number().int().min(0).max(10).default(2) }),
    z.object({ mode: z.literal('radclient-ssh'), ssh: sshTargetSchema, timeoutMs: z.number().int().positive().default(3000), retries: z.number().int().min(0).max(10).default(2) }),
  ]).default({ mode: 'direct', timeoutMs: 3000, retries: 2 }),
  nas: z.array(nasSchema).min(1),
});
export type RadiusConfig = z.infer<typeof radiusSchema>;

export const graphSchema = z.object({
  clientId: guid,
  credential: z.discriminatedUnion('type', [
    z.object({ type: z.literal('secret'), secretRef }),
    z.object({ type: z.literal('certificate'), certificatePemRef: secretRef }),
  ]),
  /** https://login.microsoftonline.com by default; the sandbox points it at the emulator */
  authorityHost: url.optional(),
  /** https://graph.microsoft.com by default */
  baseUrl: url.optional(),
  /** a PEM CA trusted for authorityHost and baseUrl only (the sandbox emulator's own CA); never needed for Microsoft's cloud */
  caCertificateRef: secretRef.optional(),
  /** audit-log query API path; published under beta (protocols.md §4) */
  auditQueryPath: z.string().regex(/^\/[A-Za-z0-9/._\-]+$/).default('/beta/security/auditLog/queries'),
  /** Entra ID P2 (Identity Protection): confirmCompromised is offered only then */
  hasP2: z.boolean().default(false),
  /** alerts_v2 polling; off when a Sentinel playbook posts alerts instead */
  pollAlerts: z.boolean().default(false),
  pollIntervalSeconds: z.number().int().min(15).default(60),
  timeoutMs: z.number().int().positive().default(30000),
});
export type GraphConfig = z.infer<typeof graphSchema>;

export const serviceNowSchema = z.object({
  instanceUrl: url,
  usernameRef: secretRef,
  passwordRef: secretRef,
  table: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('sn_si_incident'),
  /** the severity choice value for High on this instance (sn_si_incident: 1 High, 2 Medium, 3 Low) */
  severityHigh: z.string().max(16).default('1'),
  /** the priority choice value (task: 1 Critical, 2 High, 3 Moderate, 4 Low, 5 Planning) */
  priority: z.string().regex(/^[0-9]{1,3}$/).default('2'),
  /** stock reference fields, each looked up in sys_user by email: who asks for the work, who called it in */
  requestedByEmail: email.optional(),
  callerEmail: email.optional(),
  /** optional custom field for the customer contact (a stock sn_si_incident has none), with its value */
  contactField: z.string().regex(/^[a-z_][a-z0-9_]*$/).optional(),
  contact: z.string().max(200).optional(),
  correlationField: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('correlation_id'),
  /** where the Defender alert link is noted: internal work notes or customer-visible comments */
  notesField: z.enum(['work_notes', 'comments']).default('work_notes'),
  /**
   * What a release (issue 14) sets on the record, "closed as false positive": the state choice value
   * (stock sn_si_incident: 3 Closed; 100 Review on instances whose workflow closes from Review only)
   * and the close code, which must be one of the instance's close_code choices (sys_choice).
   */
  falsePositiveState: z.string().regex(/^[0-9]{1,4}$/).default('3'),
  falsePositiveCloseCode: z.string().min(1).max(40).regex(/^[^\u0000-\u001f\^]+$/, 'one line, no ^').default('False Positive'),
}).refine((c) => !c.contactField === !c.contact, { message: 'contactField and contact go together (a custom contact field and its value)' });
export type ServiceNowConfig = z.infer<typeof serviceNowSchema>;

// ---- Active Directory (issue 11): the customer's on-premises domains and how the bot reaches its DCs ----
const netbiosName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9\-]{0,14}$/, 'must be a NetBIOS domain name (up to 15 letters, digits, dashes)');
const dnsDomain = z.string().regex(/^[a-z0-9\-]+(\.[a-z0-9\-]+)+$/i, 'must be a DNS domain name');
// A DN written by the MSP (never one from an alert): RDNs of letters/digits/spaces/dashes only.
const simpleDn = z.string().regex(/^([A-Za-z]+=[A-Za-z0-9 .\-_]+)(,[A-Za-z]+=[A-Za-z0-9 .\-_]+)*$/, 'must be a DN such as DC=contoso,DC=local');
export const adDomainSchema = z.object({
  netbios: netbiosName,
  dns: dnsDomain,
  /** the UPN suffixes of its accounts (contoso.com); the DNS name is one implicitly */
  upnSuffixes: z.array(dnsDomain).default([]),
});
export const adDcSchema = z.object({
  host,
  /** the name in the DC's certificate (DC1.contoso.local): TLS checks it even when host is an IP */
  servername: dnsDomain,
  port: port.default(636),
  /** optional exact pin of the DC's certificate: SHA-256 fingerprint as openssl x509 -fingerprint -sha256 prints it */
  certificateSha256: z.string().regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/i, 'must be a SHA-256 fingerprint AA:BB:…').optional(),
});
const ldapDirectorySchema = z.object({
  domains: z.array(adDomainSchema).min(1),
  driver: z.literal('ldap'),
  /** tried in order: the first that answers is the one written to (and named on the approval card) */
  dcs: z.array(adDcSchema).min(1),
  /** the least-privilege service account: as a UPN (svc-irbot@contoso.local) or a DN */
  bindUpn: z.string().regex(/^[A-Za-z0-9._\-]+@[A-Za-z0-9.\-]+$/, 'must be a UPN').optional(),
  bindDn: simpleDn.optional(),
  passwordRef: secretRef,
  /** the PEM CA that issued the DCs' certificates (or a DC's own self-signed certificate) */
  caCertificateRef: secretRef,
  baseDn: simpleDn,
  /** reach the DCs through this SSH jump host (ssh2 forwardOut) instead of directly */
  ssh: sshTargetSchema.optional(),
  timeoutMs: z.number().int().positive().default(10000),
});
/**
 * Defender for Identity's own action accounts do the writes (Graph identityAccounts/invokeAction,
 * with the customer's `graph` app registration): no DC, no service account, no secret here.
 * Strict, so that a DC or a password left over from an ldap section is pointed out, not ignored.
 */
const mdiDirectorySchema = z.object({
  domains: z.array(adDomainSchema).min(1),
  driver: z.literal('mdi'),
}).strict();
/** `driver` chooses how the bot reaches the domain; `ldap` when it is not given (files from before the mdi driver). */
export const activeDirectorySchema = z.preprocess(
  (v) => (v && typeof v === 'object' && !Array.isArray(v) && (v as Record<string, unknown>).driver === undefined ? { ...(v as object), driver: 'ldap' } : v),
  z.discriminatedUnion('driver', [ldapDirectorySchema, mdiDirectorySchema], {
    errorMap: (issue, ctx) => (issue.code === z.ZodIssueCode.invalid_union_discriminator
      ? { message: "driver must be 'ldap' (LDAPS to the DCs) or 'mdi' (Defender for Identity through Graph)" } : { message: ctx.defaultError }),
  }).superRefine((a, ctx) => {
    if (a.driver === 'ldap' && !a.bindUpn && !a.bindDn) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'needs bindUpn or bindDn' });
  }),
);
export type ActiveDirectoryConfig = z.infer<typeof activeDirectorySchema>;
export type LdapDirectoryConfig = Extract<ActiveDirectoryConfig, { driver: 'ldap' }>;
export type MdiDirectoryConfig = Extract<ActiveDirectoryConfig, { driver: 'mdi' }>;
// ---- end Active Directory ----

const contactSchema = z.object({ name: z.string().min(1).max(200), email });

export const customerSchema = z.object({
  id,
  name: z.string().min(1).max(100),
  tenantId: guid,
  domains: z.array(z.string().regex(/^[a-z0-9.\-]+\.[a-z]{2,}$/i, 'must be a domain name')).min(1),
  graph: graphSchema,
  /** the customer's own egress ranges: never blocked at the perimeter */
  egressRanges: z.array(cidr).default([]),
  firewalls: z.array(firewallSchema).default([]),
  radius: radiusSchema.optional(),
  /** access switches, by the NAS-IP-Address they use in RADIUS accounting */
  switches: z.array(switchSchema).default([]),
  /**
   * Optional containment at the access switch (switch.containPort, its own approval card): off by
   * default; `shut-port` shuts the port the user's device is plugged in over SSH (undo: no shutdown);
   * `coa-bounce-host-port` / `coa-disable-host-port` send Cisco's port CoA command to the NAS (the
   * switch) from radius.nas instead (bounce: nothing to undo; disable: undo no shutdown over SSH).
   * Checked with the rest of the file by switchContainmentIssues().
   */
  switchContainment: z.enum(['off', 'shut-port', 'coa-bounce-host-port', 'coa-disable-host-port']).default('off'),
  servicenow: serviceNowSchema.optional(),
  activeDirectory: activeDirectorySchema.optional(),
  contacts: z.object({ ciso: contactSchema, onCall: contactSchema }),
  /** who sees this customer's incidents, reports and verification (approvers see them too) */
  readers: z.object({
    objectIds: z.array(guid).default([]),
    groupIds: z.array(guid).default([]),
  }).default({ objectIds: [], groupIds: [] }),
  /** who contains, approves, rejects, retries, cancels and closes; groups are resolved in the MSP tenant */
  approvers: z.object({
    objectIds: z.array(guid).default([]),
    groupIds: z.array(guid).default([]),
    /** steps that need two distinct approvers */
    twoPersonSteps: z.array(z.string()).default([]),
  }).refine((a) => a.objectIds.length + a.groupIds.length > 0, 'at least one approver object id or group id'),
  mail: z.discriminatedUnion('via', [
    z.object({ via: z.literal('graph') }),
    z.object({ via: z.literal('smtp'), host, port: port.default(587), secure: z.boolean().default(false), usernameRef: secretRef.optional(), passwordRef: secretRef.optional(), from: email }),
  ]).default({ via: 'graph' }),
  threatFeed: z.object({
    usernameRef: secretRef,
    passwordRef: secretRef,
    ttlDays: z.number().positive().max(365).default(7),
  }).optional(),
  /**
   * How this customer's alerts authenticate at POST /api/alerts: a bearer token of its own, and/or an
   * HMAC-SHA256 key for signed bodies (see src/intake/intake-credentials.ts). Either credential is
   * good for this customer's tenant only.
   */
  intake: z.object({
    webhookTokenRef: secretRef.optional(),
    hmacSecretRef: secretRef.optional(),
  }).strict().default({}),
  /** a procedure file (relative to the customers file) that replaces the default for this customer */
  procedure: z.string().regex(/^[A-Za-z0-9._\-/]+\.ya?ml$/).optional(),
  /**
   * Alert storms (src/intake/storm.ts): when `minUsers` distinct accounts get alerts of one detector
   * (or one title) within `windowMinutes`, further alerts go to one storm incident instead of a
   * thread per account; it runs the storm procedure (src/procedures/storm-containment.yaml): one
   * approval per action across its accounts, with the count. On by default; `enabled: false` keeps a
   * thread per account whatever the burst.
   */
  storm: z.object({
    enabled: z.boolean().default(true),
    minUsers: z.number().int().min(2).max(10_000).default(10),
    windowMinutes: z.number().int().min(1).max(24 * 60).default(10),
  }).strict().default({}),
});
export type CustomerConfig = z.infer<typeof customerSchema>;

export const customersFileSchema = z.object({
  customers: z.array(customerSchema).min(1),
}).superRefine((file, ctx) => {
  const seen = new Map<string, string>();
  const credentialOwner = new Map<string, string>();
  file.customers.forEach((c, i) => {
    for (const [key, value] of [['id', c.id], ['tenantId', c.tenantId.toLowerCase()]] as const) {
      const k = `${key}:${value}`;
      if (seen.has(k)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['customers', i, key], message: `duplicate ${key} (also used by ${seen.get(k)})` });
      else seen.set(k, c.id);
    }
    for (const issue of switchContainmentIssues(c)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['customers', i, ...issue.path], message: issue.message });
    for (const { path, ref } of customerCredentialRefs(c)) {
      const owner = credentialOwner.get(ref);
      if (owner !== undefined && owner !== c.id) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['customers', i, ...path], message: `${ref} is customer "${owner}"'s credential: a credential belongs to one customer and never crosses to another` });
      } else credentialOwner.set(ref, c.id);
    }
  });
});

/**
 * What a CoA containment mode needs, so that a customers file that cannot work is refused at load
 * rather than at the approval card: the CoA goes from the bot to the switch as NAS (radius.nas with
 * the switch's NAS-IP-Address, its shared secret by reference), so radius.disconnect must be
 * `direct`; and the command is Cisco's (Cisco-AVPair), so every switch that allows containment is
 * a cisco-ios one.
 */
export function switchContainmentIssues(c: CustomerConfig): Array<{ path: Array<string | number>; message: string }> {
  if (c.switchContainment !== 'coa-bounce-host-port' && c.switchContainment !== 'coa-disable-host-port') return [];
  const mode = c.switchContainment;
  if (!c.radius) return [{ path: ['switchContainment'], message: `${mode} sends a RADIUS CoA to the switch: it needs radius: with the switch as a nas entry` }];
  const issues: Array<{ path: Array<string | number>; message: string }> = [];
  if (c.radius.disconnect.mode !== 'direct') issues.push({ path: ['radius', 'disconnect', 'mode'], message: `${mode} sends the CoA-Request from the bot: radius.disconnect.mode must be direct` });
  c.switches.forEach((sw, j) => {
    if (!sw.allowPortShutdown) return;
    if (sw.kind !== 'cisco-ios') issues.push({ path: ['switches', j, 'kind'], message: `${mode} is Cisco's CoA command (Cisco-AVPair subscriber:command): ${sw.id} is ${sw.kind}; use shut-port or set allowPortShutdown: false` });
    if (!c.radius!.nas.some((n) => n.ip === sw.nasIp)) issues.push({ path: ['switches', j, 'nasIp'], message: `${mode}: no radius.nas entry has ip ${sw.nasIp} (the NAS that receives the CoA for ${sw.id}, with its shared secret)` });
  });
  return issues;
}

/**
 * The secret references that open a customer's own systems (Graph app, firewalls, switches, NAS,
 * ServiceNow, AD, threat feed): each must belong to one customer only. Not counted: CA certificates
 * (public, often shared), intake credentials (one sender may post for several customers by design,
 * see intake-credentials.ts), mail (the MSP's own SMTP relay serves every customer) and a RADIUS
 * accounting database URL (an MSP may run one accounting database for all).
 */
function customerCredentialRefs(c: CustomerConfig): Array<{ path: Array<string | number>; ref: string }> {
  const out: Array<{ path: Array<string | number>; ref: string }> = [];
  const walk = (v: unknown, path: Array<string | number>) => {
    if (Array.isArray(v)) { v.forEach((x, i) => walk(x, [...path, i])); return; }
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (path.length === 0 && (k === 'intake' || k === 'mail')) continue;
      if (typeof x === 'string' && k.endsWith('Ref') && k !== 'caCertificateRef' && k !== 'urlRef') out.push({ path: [...path, k], ref: x });
      else walk(x, [...path, k]);
    }
  };
  walk(c, []);
  return out;
}
export type CustomersFile = z.infer<typeof customersFileSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Turns the first zod issue into one line: the file, the customer, the key and what is wrong. */
export function describeIssue(source: string, raw: unknown, issue: z.ZodIssue): string {
  const path = issue.path;
  let where = '';
  if (path[0] === 'customers' && typeof path[1] === 'number') {
    const c = (raw as { customers?: Array<{ id?: unknown; name?: unknown }> })?.customers?.[path[1]];
    const who = typeof c?.id === 'string' ? c.id : typeof c?.name === 'string' ? c.name : `#${path[1] + 1}`;
    where = `customer "${who}", key "${path.slice(2).join('.') || '(entry)'}"`;
  } else {
    where = `key "${path.join('.') || '(top level)'}"`;
  }
  return `${source}: ${where}: ${issue.message}`;
}

export function parseCustomers(raw: unknown, source = 'customers file'): CustomersFile {
  const r = customersFileSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(describeIssue(source, raw, r.error.issues[0]));
  return deepFreeze(r.data);
}

export function loadCustomersFile(path: string): CustomersFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the customers file (${(e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseCustomers(raw, path);
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

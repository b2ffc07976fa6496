import { AndFilter, Attribute, Change, Client, EqualityFilter, ExtensibleFilter, type Entry, type Filter } from 'ldapts';
import { checkServerIdentity, connect as tlsConnect, type ConnectionOptions, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { LdapDirectoryConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import type { Logger } from '../../log';
import { ConnectorError, type RawPayload } from '../types';
import { fileTimeToIso } from './ad-time';
import type { AccountKey, AccountRef, AccountState, DcLogon, DirectoryService, DisableOutcome, EnableOutcome, ResetOutcome, WriteOptions } from './directory-service';
import { UAC } from './directory-service';
import { unicodePwdValue } from './generated-password';
import { mapLdapError } from './ldap-errors';
import { parseSid, sidFromBuffer, sidToBuffer, splitSid } from './sid';

type DcConfig = LdapDirectoryConfig['dcs'][number];

/** LDAP_MATCHING_RULE_IN_CHAIN: membership through any depth of nesting, evaluated by the DC. */
export const MATCHING_RULE_IN_CHAIN = '1.2.840.113556.1.4.1941';

/**
 * Privileged groups by well-known SID (names are localised; SIDs are not). Domain-relative RIDs
 * apply to the account's own domain; Enterprise and Schema Admins live in the forest root domain,
 * so they are found here only when the account's domain is the root.
 */
const DOMAIN_PRIVILEGED_RIDS: Record<number, string> = {
  512: 'Domain Admins', 516: 'Domain Controllers', 518: 'Schema Admins', 519: 'Enterprise Admins',
  520: 'Group Policy Creator Owners', 526: 'Key Admins', 527: 'Enterprise Key Admins',
};
const BUILTIN_PRIVILEGED: Record<string, string> = {
  'S-1-5-32-544': 'Administrators', 'S-1-5-32-548': 'Account Operators', 'S-1-5-32-549': 'Server Operators',
  'S-1-5-32-550': 'Print Operators', 'S-1-5-32-551': 'Backup Operators', 'S-1-5-32-552': 'Replicator',
};

const ACCOUNT_ATTRIBUTES = [
  'objectSid', 'sAMAccountName', 'userPrincipalName', 'displayName', 'distinguishedName', 'userAccountControl',
  'msDS-User-Account-Control-Computed', 'memberOf', 'primaryGroupID', 'pwdLastSet', 'lastLogonTimestamp',
  'lastLogon', 'badPwdCount', 'lockoutTime',
];

/** People's accounts only: a SID or name of a group or a computer is not something to disable here. */
const USER_ACCOUNT = [
  new EqualityFilter({ attribute: 'objectCategory', value: 'person' }),
  new EqualityFilter({ attribute: 'objectClass', value: 'user' }),
];

/** A sAMAccountName is at most 20 characters in AD (256 in the schema); NUL can never be one. */
function checkSam(value: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) throw new ConnectorError('not a sAMAccountName: empty or longer than 256 characters', { source: 'ad.ldap' });
  if (value.includes('\0')) throw new ConnectorError('not a sAMAccountName: contains a NUL character', { source: 'ad.ldap' });
  return value;
}

function first(v: Entry[string] | undefined): string | undefined {
  if (v === undefined) return undefined;
  const x = Array.isArray(v) ? v[0] : v;
  if (x === undefined) return undefined;
  return Buffer.isBuffer(x) ? x.toString('utf8') : String(x);
}

function all(v: Entry[string] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

function sidOf(entry: Entry): string {
  const v = entry.objectSid;
  const b = Array.isArray(v) ? v[0] : v;
  if (!Buffer.isBuffer(b)) throw new ConnectorError(`no binary objectSid on ${entry.dn}`, { source: 'ad.ldap' });
  return sidFromBuffer(b);
}

/** An entry as evidence: binary SIDs as strings, everything else as the DC sent it. */
function entryEvidence(entry: Entry): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) {
    if (k === 'objectSid') out[k] = sidOf(entry);
    else out[k] = Array.isArray(v) ? v.map((x) => (Buffer.isBuffer(x) ? x.toString('base64') : x)) : Buffer.isBuffer(v) ? v.toString('base64') : v;
  }
  return out;
}

/** LDAP GeneralizedTime (20261202011500.0Z) as ISO 8601; undefined when it is not one. */
export function generalizedTimeToIso(v: string | undefined): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:[.,](\d+))?Z$/.exec(v ?? '');
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0));
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** DC=contoso,DC=local from CN=x,OU=y,DC=contoso,DC=local (DC components are plain labels). */
export function domainRootOf(dn: string): string | undefined {
  const m = /((?:^|,)\s*DC=[A-Za-z0-9\-]+)+$/i.exec(dn);
  return m ? m[0].replace(/^,\s*/, '') : undefined;
}

function sameDn(a: string, b: string): boolean {
  return a.replace(/\s*,\s*/g, ',').toLowerCase() === b.replace(/\s*,\s*/g, ',').toLowerCase();
}

export function dcLabel(dc: DcConfig): string {
  return `${dc.servername} (${dc.host}:${dc.port})`;
}

export interface LdapOpenOptions {
  log?: Logger;
  /** an SSH jump host's tunnel to host:port (ssh2 forwardOut); without it the DCs are reached directly */
  tunnel?: (host: string, port: number) => Promise<Duplex>;
}

/**
 * The `ldap` driver: LDAPS to the customer's DCs, binding as the least-privilege service account,
 * the DC's certificate checked against the pinned CA (and its exact fingerprint when configured).
 * Filters are ldapts filter objects: values are encoded as they are, never parsed from a string,
 * so `*`, `(`, `)`, `\` in a name match only themselves.
 */
export class LdapDirectoryService implements DirectoryService {
  private readonly evidence: RawPayload[] = [];
  readonly driver = 'ldap' as const;
  readonly passwordResetReadable = true;

  private constructor(
    private readonly config: LdapDirectoryConfig,
    private readonly client: Client,
    private readonly dcConfig: DcConfig,
    private readonly connectDc: (dc: DcConfig) => Promise<Client>,
    private readonly log?: Logger,
  ) {}

  get dc(): string {
    return dcLabel(this.dcConfig);
  }

  /** Connects to the first DC that answers (in config order) and binds; a refusal by a DC is final. */
  static async open(config: LdapDirectoryConfig, secrets: SecretStore, opts: LdapOpenOptions = {}): Promise<LdapDirectoryService> {
    let password: string;
    let caPem: string;
    try {
      password = secrets.get(config.passwordRef);
      caPem = secrets.get(config.caCertificateRef);
    } catch (e) {
      throw new ConnectorError(`cannot reach Active Directory: ${(e as Error).message}`, { source: 'ad.ldap' });
    }
    const bindName = config.bindUpn ?? config.bindDn!;
    const connectDc = async (dc: DcConfig): Promise<Client> => {
      const client = await connectClient(dc, caPem, config.timeoutMs, opts.tunnel);
      try {
        await client.bind(bindName, password);
      } catch (e) {
        await client.unbind().catch(() => undefined);
        throw mapLdapError(e, dcLabel(dc), `the bind as ${bindName}`, config.passwordRef);
      }
      return client;
    };
    const failures: string[] = [];
    for (const dc of config.dcs) {
      try {
        const client = await connectDc(dc);
        opts.log?.debug({ dc: dcLabel(dc), bind: bindName }, 'ad: bound');
        return new LdapDirectoryService(config, client, dc, connectDc, opts.log);
      } catch (e) {
        const mapped = mapLdapError(e, dcLabel(dc), 'a connection');
        // A wrong certificate or a refused bind would be the same on the next DC (and more
        // failed binds lock the service account out): stop at the first.
        if (!mapped.retryable) throw mapped;
        failures.push(mapped.message);
      }
    }
    throw new ConnectorError(`no domain controller answered: ${failures.join('; ')}`, { source: 'ad.ldap', retryable: true });
  }

  raw(): RawPayload[] {
    return [...this.evidence];
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }

  async resolve(key: AccountKey): Promise<AccountRef> {
    const entry = await this.findEntry(key, ['objectSid', 'sAMAccountName', 'distinguishedName']);
    return { sid: sidOf(entry), samAccountName: first(entry.sAMAccountName) ?? '', dn: entry.dn };
  }

  async read(key: AccountKey, opts: { perDcLogons?: boolean } = {}): Promise<AccountState> {
    const entry = await this.findEntry(key, ACCOUNT_ATTRIBUTES);
    const sid = sidOf(entry);
    const uac = Number(first(entry.userAccountControl) ?? '0');
    const computed = Number(first(entry['msDS-User-Account-Control-Computed']) ?? '0');
    const privilegedGroups = await this.privilegedGroups(entry.dn, sid, Number(first(entry.primaryGroupID) ?? '0'));
    const lastLogonPerDc: DcLogon[] = [{
      dc: this.dc, lastLogon: fileTimeToIso(first(entry.lastLogon)), badPwdCount: Number(first(entry.badPwdCount) ?? '0'),
    }];
    if (opts.perDcLogons) {
      for (const dc of this.config.dcs) {
        if (dc === this.dcConfig) continue;
        lastLogonPerDc.push(await this.logonOn(dc, entry.dn));
      }
    }
    const pwdLastSetRaw = first(entry.pwdLastSet);
    return {
      sid, samAccountName: first(entry.sAMAccountName) ?? '', dn: entry.dn,
      userPrincipalName: first(entry.userPrincipalName), displayName: first(entry.displayName),
      userAccountControl: uac,
      enabled: (uac & UAC.ACCOUNTDISABLE) === 0,
      lockedOut: (computed & UAC.LOCKOUT) !== 0,
      passwordMustChange: (computed & UAC.PASSWORD_EXPIRED) !== 0 || pwdLastSetRaw === '0',
      pwdLastSet: fileTimeToIso(pwdLastSetRaw),
      lastLogonTimestamp: fileTimeToIso(first(entry.lastLogonTimestamp)),
      lockoutTime: fileTimeToIso(first(entry.lockoutTime)),
      badPwdCount: Number(first(entry.badPwdCount) ?? '0'),
      memberOf: all(entry.memberOf),
      privilegedGroups,
      lastLogonPerDc,
      dc: this.dc,
    };
  }

  async disable(key: AccountKey, opts: WriteOptions = {}): Promise<DisableOutcome> {
    // Re-resolved by SID right before the write: the DN is the one the DC has now, never the
    // caller's (an account moved since the lookup is written at its new place, and said so).
    const state = await this.read(await this.bySid(key));
    const account: AccountRef = { sid: state.sid, samAccountName: state.samAccountName, dn: state.dn };
    const movedFrom = opts.expectedDn && !sameDn(opts.expectedDn, state.dn) ? opts.expectedDn : undefined;
    const before = state.userAccountControl;
    if (!state.enabled) return { account, dc: this.dc, changed: false, userAccountControlBefore: before, userAccountControlAfter: before, movedFrom };
    const after = before | UAC.ACCOUNTDISABLE;
    await this.modify(state.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(after)] }) }),
      `the disable of ${state.dn}`, { dn: state.dn, replace: { userAccountControl: String(after) }, before: String(before) });
    const check = await this.read({ sid: state.sid });
    if (check.enabled) throw new ConnectorError(`${this.dc} accepted the disable of ${state.dn} but the account still reads as enabled (userAccountControl ${check.userAccountControl})`, { source: 'ad.ldap' });
    return { account, dc: this.dc, changed: true, userAccountControlBefore: before, userAccountControlAfter: check.userAccountControl, movedFrom };
  }

  async enable(key: AccountKey, opts: WriteOptions = {}): Promise<EnableOutcome> {
    // Same re-read as disable: by SID, at the DN the DC has now; an account someone already enabled
    // by hand is reported as such and nothing is written.
    const state = await this.read(await this.bySid(key));
    const account: AccountRef = { sid: state.sid, samAccountName: state.samAccountName, dn: state.dn };
    const movedFrom = opts.expectedDn && !sameDn(opts.expectedDn, state.dn) ? opts.expectedDn : undefined;
    const before = state.userAccountControl;
    if (state.enabled) return { account, dc: this.dc, changed: false, userAccountControlBefore: before, userAccountControlAfter: before, movedFrom };
    const after = before & ~UAC.ACCOUNTDISABLE;
    await this.modify(state.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(after)] }) }),
      `the enable of ${state.dn}`, { dn: state.dn, replace: { userAccountControl: String(after) }, before: String(before) });
    const check = await this.read({ sid: state.sid });
    if (!check.enabled) throw new ConnectorError(`${this.dc} accepted the enable of ${state.dn} but the account still reads as disabled (userAccountControl ${check.userAccountControl})`, { source: 'ad.ldap' });
    return { account, dc: this.dc, changed: true, userAccountControlBefore: before, userAccountControlAfter: check.userAccountControl, movedFrom };
  }

  async resetPassword(key: AccountKey, newPassword: string, opts: WriteOptions & { mayHaveRun: boolean; intentAt: Date }): Promise<ResetOutcome> {
    const state = await this.read(await this.bySid(key));
    const account: AccountRef = { sid: state.sid, samAccountName: state.samAccountName, dn: state.dn };
    const movedFrom = opts.expectedDn && !sameDn(opts.expectedDn, state.dn) ? opts.expectedDn : undefined;
    const lastSet = state.pwdLastSet ? new Date(state.pwdLastSet) : undefined;
    if (opts.mayHaveRun && lastSet && lastSet.getTime() >= opts.intentAt.getTime()) {
      return {
        account, dc: this.dc, changed: false, pwdLastSet: state.pwdLastSet, movedFrom,
        reason: `the password was already set at ${state.pwdLastSet}, after this step's intent at ${opts.intentAt.toISOString()}: an earlier attempt reset it`,
      };
    }
    await this.modify(state.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwdValue(newPassword)] }) }),
      `the password reset of ${state.dn}`, { dn: state.dn, replace: { unicodePwd: '(a generated password, withheld)' } });
    const check = await this.read({ sid: state.sid });
    return { account, dc: this.dc, changed: true, pwdLastSet: check.pwdLastSet, movedFrom };
  }

  // ---- internals ----

  /** The key with the SID filled in (resolving a sAMAccountName first). */
  private async bySid(key: AccountKey): Promise<AccountKey> {
    if (key.sid) return { sid: parseSid(key.sid) };
    return { sid: (await this.resolve(key)).sid };
  }

  private async findEntry(key: AccountKey, attributes: string[]): Promise<Entry> {
    let filter: Filter;
    let described: string;
    if (key.sid !== undefined) {
      let sid: string;
      try { sid = parseSid(key.sid); } catch (e) { throw new ConnectorError((e as Error).message, { source: 'ad.ldap' }); }
      // Binary SID in a filter object: a string filter with \xx escapes silently matches nothing in ldapts 8.
      filter = new AndFilter({ filters: [...USER_ACCOUNT, new EqualityFilter({ attribute: 'objectSid', value: sidToBuffer(sid) })] });
      described = `objectSid ${sid}`;
    } else if (key.samAccountName !== undefined) {
      filter = new AndFilter({ filters: [...USER_ACCOUNT, new EqualityFilter({ attribute: 'sAMAccountName', value: checkSam(key.samAccountName) })] });
      described = `sAMAccountName ${JSON.stringify(key.samAccountName)}`;
    } else {
      throw new ConnectorError('no SID and no sAMAccountName to look the account up by', { source: 'ad.ldap' });
    }
    const entries = await this.search(this.config.baseDn, filter, attributes, `the lookup of ${described}`);
    if (entries.length === 0) throw new ConnectorError(`no user account with ${described} under ${this.config.baseDn} on ${this.dc}`, { source: 'ad.ldap' });
    if (entries.length > 1) throw new ConnectorError(`${entries.length} accounts match ${described} on ${this.dc}: refusing to guess`, { source: 'ad.ldap' });
    return entries[0];
  }

  private async privilegedGroups(dn: string, sid: string, primaryGroupId: number): Promise<string[]> {
    const filter = new AndFilter({ filters: [
      new EqualityFilter({ attribute: 'objectClass', value: 'group' }),
      new ExtensibleFilter({ matchType: 'member', rule: MATCHING_RULE_IN_CHAIN, value: dn }),
    ] });
    // From the domain's root, not baseDn: BUILTIN\Administrators and friends live in CN=Builtin.
    const groups = await this.search(domainRootOf(dn) ?? this.config.baseDn, filter, ['objectSid', 'cn'], `the group memberships of ${dn}`);
    const { domainSid } = splitSid(sid);
    const names = new Set<string>();
    const classify = (groupSid: string) => {
      if (BUILTIN_PRIVILEGED[groupSid]) return BUILTIN_PRIVILEGED[groupSid];
      const { domainSid: d, rid } = splitSid(groupSid);
      return d === domainSid ? DOMAIN_PRIVILEGED_RIDS[rid] : undefined;
    };
    for (const g of groups) {
      const name = classify(sidOf(g));
      if (name) names.add(name);
    }
    // The primary group is not in `member`: Domain Admins as primary group shows only here.
    const primary = primaryGroupId ? DOMAIN_PRIVILEGED_RIDS[primaryGroupId] : undefined;
    if (primary) names.add(primary);
    return [...names].sort();
  }

  /** lastLogon and badPwdCount as one other DC has them (neither is replicated). */
  private async logonOn(dc: DcConfig, dn: string): Promise<DcLogon> {
    let client: Client | undefined;
    try {
      client = await this.connectDc(dc);
      const r = await client.search(dn, { scope: 'base', attributes: ['lastLogon', 'badPwdCount'] });
      const e = r.searchEntries[0];
      return { dc: dcLabel(dc), lastLogon: fileTimeToIso(first(e?.lastLogon)), badPwdCount: Number(first(e?.badPwdCount) ?? '0') };
    } catch (e) {
      return { dc: dcLabel(dc), error: mapLdapError(e, dcLabel(dc), 'the read of lastLogon').message };
    } finally {
      await client?.unbind().catch(() => undefined);
    }
  }

  private async search(base: string, filter: Filter, attributes: string[], what: string): Promise<Entry[]> {
    try {
      const r = await this.client.search(base, { scope: 'sub', filter, attributes, explicitBufferAttributes: ['objectSid'] });
      const dcTime = await this.dcTime();
      // `value`: the entries are the records (the report counts and tabulates them like a Graph page)
      this.evidence.push({
        source: 'ad.ldap', contentType: 'application/json', collectedAt: new Date().toISOString(),
        ...(dcTime ? { rangeFrom: dcTime, rangeTo: dcTime } : {}),
        body: Buffer.from(JSON.stringify({ dc: this.dc, dcTime, base, filter: filter.toString(), value: r.searchEntries.map(entryEvidence) })),
        recordCount: r.searchEntries.length, note: `search on ${this.dc}: ${what}`,
      });
      return r.searchEntries;
    } catch (e) {
      throw mapLdapError(e, this.dc, what);
    }
  }

  /**
   * The DC's own clock (rootDSE currentTime), read right after each operation: the source time of
   * the payload in the report, independent of this host's clock. Undefined when the DC does not say.
   */
  private async dcTime(): Promise<string | undefined> {
    try {
      const r = await this.client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['currentTime'] });
      return generalizedTimeToIso(first(r.searchEntries[0]?.currentTime));
    } catch {
      return undefined;
    }
  }

  private async modify(dn: string, change: Change, what: string, evidence: Record<string, unknown>): Promise<void> {
    try {
      await this.client.modify(dn, change);
    } catch (e) {
      throw mapLdapError(e, this.dc, what);
    }
    this.log?.info({ dc: this.dc, dn, attribute: change.modification.type }, 'ad: modified');
    const dcTime = await this.dcTime();
    this.evidence.push({
      source: 'ad.ldap', contentType: 'application/json', collectedAt: new Date().toISOString(),
      ...(dcTime ? { rangeFrom: dcTime, rangeTo: dcTime } : {}),
      body: Buffer.from(JSON.stringify({ dc: this.dc, dcTime, modify: evidence })), note: `modify on ${this.dc}: ${what}`,
    });
  }
}

/**
 * One LDAPS client to one DC. The CA is pinned (ca only, no system roots); the certificate must
 * name `servername`; with certificateSha256 its exact fingerprint must match as well.
 */
async function connectClient(dc: DcConfig, caPem: string, timeoutMs: number, tunnel?: LdapOpenOptions['tunnel']): Promise<Client> {
  const tlsOptions: ConnectionOptions = {
    ca: [caPem],
    servername: dc.servername,
    minVersion: 'TLSv1.2',
    checkServerIdentity: (_host: string, cert: PeerCertificate) => {
      const e = checkServerIdentity(dc.servername, cert);
      if (e) return e;
      if (dc.certificateSha256 && cert.fingerprint256?.toUpperCase() !== dc.certificateSha256.toUpperCase()) {
        return Object.assign(new Error(`certificate fingerprint ${cert.fingerprint256} is not the pinned ${dc.certificateSha256}`), { code: 'ERR_AD_CERT_PIN' });
      }
      return undefined;
    },
  };
  const host = dc.host.includes(':') ? `[${dc.host}]` : dc.host;
  const url = `ldaps://${host}:${dc.port}`;
  if (!tunnel) return new Client({ url, timeout: timeoutMs, connectTimeout: timeoutMs, tlsOptions });
  // Through the jump host: the TLS handshake is completed here, over the forwarded channel, so that
  // a wrong certificate fails before ldapts sees the socket.
  let stream: Duplex;
  try {
    stream = await tunnel(dc.host, dc.port);
  } catch (e) {
    throw new ConnectorError(`the SSH jump host could not reach ${dcLabel(dc)}: ${(e as Error).message}`, { source: 'ad.ldap', retryable: true, cause: e });
  }
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect({ ...tlsOptions, socket: stream });
    const timer = setTimeout(() => { s.destroy(); reject(Object.assign(new Error('TLS handshake timeout'), { code: 'ETIMEDOUT' })); }, timeoutMs);
    s.once('secureConnect', () => { clearTimeout(timer); resolve(s); });
    s.once('error', (e) => { clearTimeout(timer); stream.destroy(); reject(e); });
  });
  return new Client({ url, timeout: timeoutMs, tlsOptions, createSecureConnection: (() => socket) as unknown as typeof tlsConnect });
}



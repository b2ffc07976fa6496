import type { EvidenceRecord } from '../store/store';

/**
 * Which report section a stored payload belongs to, and how its records are tabulated. Sources are
 * the RawPayload.source labels the connectors emit (grep `source:` in src/connectors); a source we
 * do not know lands in "Other evidence" rather than being left out.
 */

export type RecordFormat = 'json' | 'detail' | 'lines' | 'binary';

export interface Column { header: string; pick: (r: Record<string, unknown>) => unknown }

export interface SourceSectionSpec {
  key: 'signIns' | 'directoryAudits' | 'm365Audit' | 'activeDirectory' | 'radiusAccounting' | 'firewallSessions';
  title: string;
  /** a sentence on what these records are */
  about: string;
  matches: (source: string, actionName: string | undefined) => boolean;
}

export const SOURCE_SECTIONS: SourceSectionSpec[] = [
  {
    key: 'signIns', title: 'Entra sign-ins (24 h)',
    about: 'Entra ID sign-in log entries of the account: interactive ones (GET /v1.0/auditLogs/signIns) and, where Graph beta answers, non-interactive ones (GET /beta/auditLogs/signIns filtered on signInEventTypes), one stored payload per page as Graph returned it.',
    matches: (s) => s === 'graph.signIns' || s === 'graph.signIns.nonInteractive',
  },
  {
    key: 'directoryAudits', title: 'Entra directory audits',
    about: 'Directory audit entries initiated by or targeting the account (GET /v1.0/auditLogs/directoryAudits), one payload per page.',
    matches: (s) => s === 'graph.directoryAudits',
  },
  {
    key: 'm365Audit', title: 'Microsoft 365 audit',
    about: 'Unified audit log records of the account (the Graph audit log query: the query, its status polls and the record pages).',
    matches: (s) => s === 'graph.auditLog' || s.startsWith('graph.audit') || s.startsWith('m365.'),
  },
  {
    // the reads of the lookup and the containment's writes alike: every LDAP exchange with the DCs
    key: 'activeDirectory', title: 'Active Directory',
    about: 'The LDAP exchanges with the customer\'s domain controllers: each search (the account, its transitive groups) with the entries as the DC returned them '
      + '(binary SIDs as S-1-5-… text), and each modify the containment made (the password value is never kept). '
      + 'The source time is the DC\'s own clock (rootDSE currentTime) when it answered.',
    matches: (s) => s === 'ad.ldap' || s.startsWith('ad.'),
  },
  {
    key: 'radiusAccounting', title: 'RADIUS accounting',
    about: 'RADIUS accounting of the account: FreeRADIUS radacct rows (SQL) or detail-file records, as read.',
    matches: (s) => s === 'radius.accounting' || s.startsWith('radius.accounting.'),
  },
  {
    key: 'firewallSessions', title: 'Firewall sessions',
    about: 'VPN sessions of the account on the customer\'s firewalls (CLI transcripts of the session listings).',
    matches: (s, action) => s === 'firewall.sessions' || s.startsWith('firewall.sessions.') || action === 'firewall.vpnSessions',
  },
];

/**
 * Sections of device transcripts shown whole, grouped by the step that read them: the raw CLI (or
 * API) exchange is the evidence, and it is short. Matched by the action that collected them, before
 * the source sections, so a FortiGate policy lookup is not mistaken for a containment transcript.
 */
export interface TranscriptSectionSpec {
  key: 'switchPorts' | 'firewallRules';
  title: string;
  about: string;
  action: string;
}

export const TRANSCRIPT_SECTIONS: TranscriptSectionSpec[] = [
  {
    key: 'switchPorts', title: 'Switch ports', action: 'switch.portFacts',
    about: 'Where each RADIUS session\'s client is plugged in: per port, the line the timeline showed, the raw CLI transcript of the commands the bot sent to the access switch (802.1X session, MAC table, link, port log, CDP/LLDP) with its SHA-256, and the port log\'s times as the switch printed them.',
  },
  {
    key: 'firewallRules', title: 'Firewall rules matched', action: 'firewall.matchedPolicy',
    about: 'Which firewall rule matched traffic from each attacker IP, read before any block (FortiOS policy lookup, PAN-OS test security-policy-match): the rule as found, then the raw lookup transcript with its SHA-256.',
  },
];

/** Payloads that are the result of a change we made (or a follow-up such as the ticket or mail). */
const ACTION_RESULT_SOURCES = [
  /^graph\.(disableUser|revokeSignInSessions|resetPassword|confirmCompromised|alertUpdate|alertComment|sendMail)(\.request)?$/,
  /^radius\.coa(\.|$)/,
  /^(fortigate|paloalto)\.(cli|xml|api)(\.|$)/,
  /^firewall(\.block|$)/,
  /^switch(\.cli|$)/,
  /^servicenow\./,
  /^smtp\./,
];

export type SectionKey = SourceSectionSpec['key'] | TranscriptSectionSpec['key'] | 'actions' | 'reports' | 'other';

export function sectionOf(e: Pick<EvidenceRecord, 'source'>, actionName: string | undefined): SectionKey {
  if (e.source === 'report.markdown') return 'reports';
  const transcript = TRANSCRIPT_SECTIONS.find((t) => t.action === actionName);
  if (transcript) return transcript.key;
  for (const s of SOURCE_SECTIONS) if (s.matches(e.source, actionName)) return s.key;
  if (ACTION_RESULT_SOURCES.some((re) => re.test(e.source))) return 'actions';
  return 'other';
}

export function formatOf(e: Pick<EvidenceRecord, 'source' | 'contentType'>): RecordFormat {
  const ct = e.contentType.toLowerCase();
  if (e.source === 'radius.accounting.detail') return 'detail';
  if (ct.includes('json')) return 'json';
  if (ct.startsWith('text/') || ct.includes('xml')) return 'lines';
  return 'binary';
}

const path = (...keys: string[]) => (r: Record<string, unknown>): unknown => {
  let v: unknown = r;
  for (const k of keys) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
};
const first = (...picks: Array<(r: Record<string, unknown>) => unknown>) => (r: Record<string, unknown>): unknown => {
  for (const p of picks) {
    const v = p(r);
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
};
const joined = (...picks: Array<(r: Record<string, unknown>) => unknown>) => (r: Record<string, unknown>): unknown =>
  picks.map((p) => p(r)).filter((v) => v !== undefined && v !== null && v !== '').map(String).join(', ') || undefined;

/** Columns for the record tables, by source; unknown JSON gets its first scalar fields. */
export function columnsFor(source: string, sample: Record<string, unknown> | undefined): Column[] {
  if (source === 'graph.signIns' || source === 'graph.signIns.nonInteractive') {
    return [
      { header: 'Time (source)', pick: path('createdDateTime') },
      { header: 'IP', pick: path('ipAddress') },
      { header: 'Location', pick: joined(path('location', 'city'), path('location', 'countryOrRegion')) },
      { header: 'App', pick: path('appDisplayName') },
      { header: 'Client', pick: path('clientAppUsed') },
      { header: 'Result', pick: path('status', 'errorCode') },
      { header: 'CA', pick: path('conditionalAccessStatus') },
      { header: 'Risk', pick: path('riskLevelDuringSignIn') },
    ];
  }
  if (source === 'graph.directoryAudits') {
    return [
      { header: 'Time (source)', pick: path('activityDateTime') },
      { header: 'Activity', pick: path('activityDisplayName') },
      { header: 'Result', pick: path('result') },
      { header: 'Initiated by', pick: first(path('initiatedBy', 'user', 'userPrincipalName'), path('initiatedBy', 'app', 'displayName')) },
      { header: 'IP', pick: path('initiatedBy', 'user', 'ipAddress') },
      { header: 'Target', pick: (r) => {
        const t = (r.targetResources as Array<Record<string, unknown>> | undefined)?.[0];
        return t ? first(path('userPrincipalName'), path('displayName'))(t) : undefined;
      } },
    ];
  }
  if (source.startsWith('graph.audit')) {
    return [
      { header: 'Time (source)', pick: path('createdDateTime') },
      { header: 'Operation', pick: path('operation') },
      { header: 'Service', pick: path('service') },
      { header: 'Record type', pick: path('auditLogRecordType') },
      { header: 'User', pick: path('userPrincipalName') },
      { header: 'Client IP', pick: path('clientIp') },
    ];
  }
  if (source === 'ad.ldap') {
    return [
      { header: 'DN', pick: first(path('dn'), path('distinguishedName'), path('modify', 'dn')) },
      { header: 'Name', pick: first(path('sAMAccountName'), path('cn')) },
      { header: 'SID', pick: path('objectSid') },
      { header: 'userAccountControl', pick: path('userAccountControl') },
      { header: 'pwdLastSet', pick: path('pwdLastSet') },
      { header: 'lastLogonTimestamp', pick: path('lastLogonTimestamp') },
      { header: 'Change', pick: path('modify', 'replace') },
      { header: 'DC', pick: path('dc') },
    ];
  }
  if (source === 'radius.accounting.sql') {
    return [
      { header: 'Start', pick: path('acctstarttime') },
      { header: 'Update', pick: path('acctupdatetime') },
      { header: 'Stop', pick: path('acctstoptime') },
      { header: 'User', pick: path('username') },
      { header: 'NAS', pick: path('nasipaddress') },
      { header: 'Framed IP', pick: path('framedipaddress') },
      { header: 'Calling station', pick: path('callingstationid') },
      { header: 'Session', pick: path('acctsessionid') },
      { header: 'Terminate cause', pick: path('acctterminatecause') },
    ];
  }
  if (source === 'radius.accounting.detail') {
    return [
      { header: 'Date', pick: path('Date') },
      { header: 'Status', pick: path('Acct-Status-Type') },
      { header: 'User', pick: path('User-Name') },
      { header: 'Session', pick: path('Acct-Session-Id') },
      { header: 'Framed IP', pick: path('Framed-IP-Address') },
      { header: 'NAS', pick: first(path('NAS-IP-Address'), path('NAS-Identifier')) },
      { header: 'Calling station', pick: path('Calling-Station-Id') },
      { header: 'Timestamp', pick: path('Timestamp') },
    ];
  }
  const keys = sample ? Object.keys(sample).filter((k) => !k.startsWith('@odata') && isScalar(sample[k])).slice(0, 7) : [];
  return keys.map((k) => ({ header: k, pick: path(k) }));
}

function isScalar(v: unknown): boolean {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}

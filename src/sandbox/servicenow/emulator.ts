import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONTOSO } from '../contoso';
import { applyEncodedQuery, type Row } from './encoded-query';

/**
 * A ServiceNow instance for the sandbox and the tests: the Table API and the Attachment API as
 * protocols.md §7 describes them, Basic auth, role checks (sn_si.write), and fault injection
 * (401/403/429 with Retry-After/503, or a connection dropped after the change is committed).
 * It keeps everything it was sent, so tests can assert on what actually crossed the wire.
 */

export interface ServiceNowUser { username: string; password: string; roles: string[] }

export interface EmulatorRequest {
  at: string;
  method: string;
  path: string;
  query: Record<string, string>;
  /** as received, except Authorization, which is kept as `Basic <user>:[redacted]` */
  headers: Record<string, string | string[] | undefined>;
  authUser?: string;
  body: Buffer;
  /** the status answered, or 'dropped' when crashAfter cut the connection */
  outcome: number | 'dropped';
}

export interface StoredAttachment { meta: Row; bytes: Buffer }
export interface JournalEntry { table: string; sysId: string; field: 'work_notes' | 'comments'; value: string; createdOn: string; createdBy: string }

export interface FaultSpec { status: 401 | 403 | 429 | 503; retryAfterSeconds?: number; times?: number }
/** `'POST /api/now/attachment/file'` matches method + path prefix; `'/api/now/table'` any method; a RegExp is tested on `METHOD /path` */
export type RoutePattern = string | RegExp;

export interface ServiceNowEmulatorState {
  records: Map<string, Row[]>;
  attachments: StoredAttachment[];
  journal: JournalEntry[];
  requests: EmulatorRequest[];
}

export interface ServiceNowEmulator {
  url: string;
  state: ServiceNowEmulatorState;
  injectFault(pattern: RoutePattern, fault: FaultSpec): void;
  /** the next `times` matching requests are carried out, then the connection is dropped without an answer */
  crashAfter(pattern: RoutePattern, opts?: { times?: number }): void;
  clearFaults(): void;
  close(): Promise<void>;
}

export interface ServiceNowEmulatorOptions {
  port?: number;
  users?: ServiceNowUser[];
  /** tables the instance has; others answer 400 Invalid table */
  tables?: string[];
  /** custom columns an instance added (e.g. `{ sn_si_incident: ['u_customer_contact'] }`); a stock instance has none */
  customFields?: Record<string, string[]>;
  /** people in sys_user (looked up by email for the reference fields); Contoso's by default */
  sysUsers?: Array<{ name: string; email: string; userName?: string }>;
  now?: () => Date;
}

const JOURNAL_FIELDS = new Set(['work_notes', 'comments']);
const SYSTEM_FIELDS = ['sys_id', 'number', 'sys_created_on', 'sys_created_by', 'sys_updated_on', 'sys_updated_by', 'sys_mod_count', 'sys_class_name', 'sys_domain', 'state', 'severity', 'priority', 'active', 'work_notes', 'comments'];
const CHOICES: Record<string, Record<string, string>> = {
  severity: { 1: '1 - High', 2: '2 - Medium', 3: '3 - Low' },
  priority: { 1: '1 - Critical', 2: '2 - High', 3: '3 - Moderate', 4: '4 - Low', 5: '5 - Planning' },
  state: { 10: 'Draft', 16: 'Analysis', 18: 'Contain', 19: 'Eradicate', 20: 'Recover', 100: 'Review', 3: 'Closed', 7: 'Cancelled' },
};
// The columns of the stock tables (task's plus each table's own) that a client may write. Like a
// real instance, a field the table does not have is silently ignored on insert and update.
const TASK_COLUMNS = ['short_description', 'description', 'state', 'priority', 'impact', 'urgency', 'category', 'subcategory', 'assigned_to', 'assignment_group',
  'correlation_id', 'correlation_display', 'work_notes', 'comments', 'active', 'contact_type', 'opened_by', 'close_notes', 'location', 'company', 'cmdb_ci',
  'business_service', 'due_date', 'parent', 'watch_list', 'work_notes_list'];
const STOCK_COLUMNS: Record<string, string[]> = {
  sn_si_incident: [...TASK_COLUMNS, 'close_code', 'severity', 'requested_by', 'affected_user', 'caller', 'risk_score', 'business_criticality', 'substate', 'attack_vector', 'initial_vector'],
  sn_si_task: [...TASK_COLUMNS],
  incident: [...TASK_COLUMNS, 'caller_id', 'severity', 'problem_id', 'resolved_by', 'close_code'],
  sys_user: ['user_name', 'name', 'first_name', 'last_name', 'email', 'active'],
};
const NUMBER_PREFIX: Record<string, string> = { sn_si_incident: 'SIR', incident: 'INC', sn_si_task: 'SIT' };
const MAX_BODY = 50 * 1024 * 1024;

const failure = (message: string, detail: string | null): unknown => ({ error: { message, detail }, status: 'failure' });
const NOT_AUTHENTICATED = failure('User Not Authenticated', 'Required to provide Auth information');
const ACL_INSERT = failure('Operation Failed', 'ACL Exception Insert Failed due to security constraints');
const ACL_UPDATE = failure('Operation Failed', 'ACL Exception Update Failed due to security constraints');

interface Reply { status: number; headers?: Record<string, string>; json?: unknown; bytes?: Buffer }

export async function startServiceNowEmulator(opts: ServiceNowEmulatorOptions = {}): Promise<ServiceNowEmulator> {
  const users = opts.users ?? [{ username: CONTOSO.servicenow.username, password: CONTOSO.servicenow.password, roles: ['sn_si.basic', 'sn_si.write'] }];
  const tables = new Set([...(opts.tables ?? ['sn_si_incident', 'incident', 'sn_si_task']), 'sys_user']);
  const columns = (table: string): Set<string> => new Set([...(STOCK_COLUMNS[table] ?? TASK_COLUMNS), ...(opts.customFields?.[table] ?? [])]);
  const now = opts.now ?? (() => new Date());
  const state: ServiceNowEmulatorState = { records: new Map(), attachments: [], journal: [], requests: [] };
  const people = opts.sysUsers ?? [
    { name: CONTOSO.contacts.ciso.name, email: CONTOSO.contacts.ciso.email },
    { name: CONTOSO.contacts.onCall.name, email: CONTOSO.contacts.onCall.email },
    { name: 'Adele Vance', email: CONTOSO.adele.upn },
  ];
  state.records.set('sys_user', people.map((p) => ({
    sys_id: createHash('md5').update(`sys_user:${p.email}`).digest('hex'), user_name: p.userName ?? p.email.split('@')[0], name: p.name, email: p.email, active: 'true',
    sys_class_name: 'sys_user', sys_created_on: '2026-01-05 09:00:00', sys_created_by: 'admin', sys_updated_on: '2026-01-05 09:00:00', sys_updated_by: 'admin', sys_mod_count: '0',
  })));
  const counters = new Map<string, number>();
  let faults: Array<{ pattern: RoutePattern; fault: FaultSpec; left: number }> = [];
  let crashes: Array<{ pattern: RoutePattern; left: number }> = [];
  let baseUrl = '';

  const matches = (p: RoutePattern, method: string, path: string): boolean => {
    const line = `${method} ${path}`;
    if (p instanceof RegExp) return p.test(line);
    return p.startsWith('/') ? path.startsWith(p) : line.startsWith(p);
  };
  const glideTime = (): string => now().toISOString().replace('T', ' ').slice(0, 19);
  const rowsOf = (table: string): Row[] => {
    let rows = state.records.get(table);
    if (!rows) state.records.set(table, (rows = []));
    return rows;
  };
  const knownFields = (rows: Row[]): Set<string> => new Set([...SYSTEM_FIELDS, ...rows.flatMap((r) => Object.keys(r))]);

  function authenticate(req: IncomingMessage): ServiceNowUser | undefined {
    const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
    if (!m) return undefined;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return undefined;
    const [u, p] = [decoded.slice(0, i), decoded.slice(i + 1)];
    return users.find((x) => x.username === u && x.password === p);
  }
  const canWrite = (user: ServiceNowUser, table: string): boolean =>
    user.roles.includes('admin') || (table.startsWith('sn_si_') ? user.roles.includes('sn_si.write') : user.roles.includes('itil'));
  const canRead = (user: ServiceNowUser, table: string): boolean =>
    table === 'sys_user' || canWrite(user, table) || (table.startsWith('sn_si_') ? user.roles.includes('sn_si.basic') : user.roles.includes('itil'));

  /** Field values as ServiceNow stores them: strings. Journal fields go to the journal, not the row. */
  function assignFields(table: string, row: Row, body: unknown, user: ServiceNowUser): Reply | undefined {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return { status: 400, json: failure('Exception while reading request', 'The payload is not valid JSON.') };
    const writable = columns(table);
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      if (k.startsWith('sys_') || k === 'number') continue; // system fields are not writable through the API
      if (!writable.has(k)) continue; // a field the table does not have: dropped without a word, as ServiceNow does
      let s: string;
      if (typeof v === 'string') s = v;
      else if (typeof v === 'number' || typeof v === 'boolean') s = String(v);
      else if (v === null) s = '';
      else return { status: 400, json: failure('Invalid value', `field ${k} must be a string`) };
      if (JOURNAL_FIELDS.has(k)) {
        if (s !== '') state.journal.push({ table, sysId: row.sys_id, field: k as 'work_notes' | 'comments', value: s, createdOn: glideTime(), createdBy: user.username });
        continue;
      }
      row[k] = s;
    }
    return undefined;
  }

  function present(row: Row, query: URLSearchParams): Record<string, unknown> {
    const fields = query.get('sysparm_fields')?.split(',').map((f) => f.trim()).filter(Boolean);
    const display = query.get('sysparm_display_value') ?? 'false';
    const out: Record<string, unknown> = {};
    const keys = fields ?? [...Object.keys(row), 'work_notes', 'comments'];
    for (const k of keys) {
      const value = JOURNAL_FIELDS.has(k) ? '' : row[k] ?? '';
      const shown = CHOICES[k]?.[value] ?? value;
      out[k] = display === 'true' ? shown : display === 'all' ? { display_value: shown, value } : value;
    }
    return out;
  }

  function handleTable(method: string, table: string, sysId: string | undefined, query: URLSearchParams, body: Buffer, user: ServiceNowUser): Reply {
    if (table === 'sys_journal_field' && method === 'GET' && !sysId) return journalRows(query, user);
    if (!tables.has(table)) return { status: 400, json: failure(`Invalid table ${table}`, null) };
    const rows = rowsOf(table);
    if (method === 'GET' && !sysId) {
      // Rows the user may not read are filtered out by ACL, as on a real instance (no error).
      const visible = canRead(user, table) ? rows : [];
      const matched = applyEncodedQuery(visible, query.get('sysparm_query') ?? '', knownFields(rows));
      const offset = Number(query.get('sysparm_offset') ?? 0) || 0;
      const limit = Number(query.get('sysparm_limit') ?? 10000) || 10000;
      const page = matched.slice(offset, offset + limit);
      return { status: 200, headers: { 'X-Total-Count': String(matched.length) }, json: { result: page.map((r) => present(r, query)) } };
    }
    if (method === 'POST' && !sysId) {
      if (!canWrite(user, table)) return { status: 403, json: ACL_INSERT };
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return { status: 400, json: failure('Exception while reading request', 'The payload is not valid JSON.') };
      }
      const n = (counters.get(table) ?? 10000) + 1;
      counters.set(table, n);
      const t = glideTime();
      const row: Row = {
        sys_id: randomBytes(16).toString('hex'),
        number: `${NUMBER_PREFIX[table] ?? 'TASK'}${String(n).padStart(7, '0')}`,
        sys_class_name: table, sys_created_on: t, sys_created_by: user.username, sys_updated_on: t, sys_updated_by: user.username,
        sys_mod_count: '0', sys_domain: 'global', active: 'true', state: '10', severity: '3', priority: '4',
      };
      const bad = assignFields(table, row, parsed, user);
      if (bad) return bad;
      rows.push(row);
      return { status: 201, headers: { Location: `${baseUrl}/api/now/table/${table}/${row.sys_id}` }, json: { result: present(row, query) } };
    }
    const row = sysId ? rows.find((r) => r.sys_id === sysId) : undefined;
    if (!row || !canRead(user, table)) return { status: 404, json: failure('No Record found', "Record doesn't exist or ACL restricts the record retrieval") };
    if (method === 'GET') return { status: 200, json: { result: present(row, query) } };
    if (method === 'PATCH' || method === 'PUT') {
      if (!canWrite(user, table)) return { status: 403, json: ACL_UPDATE };
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return { status: 400, json: failure('Exception while reading request', 'The payload is not valid JSON.') };
      }
      const bad = assignFields(table, row, parsed, user);
      if (bad) return bad;
      row.sys_updated_on = glideTime();
      row.sys_updated_by = user.username;
      row.sys_mod_count = String(Number(row.sys_mod_count) + 1);
      return { status: 200, json: { result: present(row, query) } };
    }
    if (method === 'DELETE') {
      if (!canWrite(user, table)) return { status: 403, json: failure('Operation Failed', 'ACL Exception Delete Failed due to security constraints') };
      rows.splice(rows.indexOf(row), 1);
      return { status: 204 };
    }
    return { status: 405, json: failure('Method not Supported', `${method} is not supported on this resource`) };
  }

  /**
   * sys_journal_field, read-only: the work notes and comments as a real instance stores them (one
   * row per entry: element_id = the record's sys_id, element = the field, name = the table, value).
   * Entries of a table the user may not read are filtered out, as ACLs do.
   */
  function journalRows(query: URLSearchParams, user: ServiceNowUser): Reply {
    const rows: Row[] = state.journal.filter((j) => canRead(user, j.table)).map((j, i) => ({
      sys_id: createHash('md5').update(`journal:${i}:${j.sysId}`).digest('hex'), element_id: j.sysId, element: j.field, name: j.table, value: j.value,
      sys_created_on: j.createdOn, sys_created_by: j.createdBy,
    }));
    const matched = applyEncodedQuery(rows, query.get('sysparm_query') ?? '', new Set(['sys_id', 'element_id', 'element', 'name', 'value', 'sys_created_on', 'sys_created_by']));
    const limit = Number(query.get('sysparm_limit') ?? 10000) || 10000;
    const fields = query.get('sysparm_fields')?.split(',').map((f) => f.trim()).filter(Boolean);
    const page = matched.slice(0, limit).map((r) => (fields ? Object.fromEntries(fields.map((f) => [f, r[f] ?? ''])) : r));
    return { status: 200, headers: { 'X-Total-Count': String(matched.length) }, json: { result: page } };
  }

  function handleAttachment(method: string, rest: string[], query: URLSearchParams, req: IncomingMessage, body: Buffer, user: ServiceNowUser): Reply {
    if (method === 'POST' && rest[0] === 'file' && rest.length === 1) {
      const table = query.get('table_name') ?? '';
      const tableSysId = query.get('table_sys_id') ?? '';
      const fileName = query.get('file_name') ?? '';
      if (!table || !tableSysId || !fileName) return { status: 400, json: failure('Failed to create the attachment. File part might be missing in the request.', null) };
      if (!tables.has(table)) return { status: 400, json: failure(`Invalid table ${table}`, null) };
      if (!canWrite(user, table)) return { status: 403, json: ACL_INSERT };
      if (!rowsOf(table).some((r) => r.sys_id === tableSysId)) return { status: 400, json: failure('Invalid table_sys_id', `No record ${tableSysId} in ${table}`) };
      const t = glideTime();
      const sysId = randomBytes(16).toString('hex');
      const meta: Row = {
        sys_id: sysId, file_name: fileName, table_name: table, table_sys_id: tableSysId,
        content_type: String(req.headers['content-type'] ?? 'application/octet-stream'),
        size_bytes: String(body.length), size_compressed: String(body.length), compressed: 'true',
        hash: createHash('sha256').update(body).digest('hex'), state: 'available', chunk_size_bytes: '700000',
        average_image_color: '', image_width: '', image_height: '', sys_tags: '',
        download_link: `${baseUrl}/api/now/attachment/${sysId}/file`,
        sys_created_on: t, sys_created_by: user.username, sys_updated_on: t, sys_updated_by: user.username, sys_mod_count: '0',
      };
      state.attachments.push({ meta, bytes: Buffer.from(body) });
      return { status: 201, headers: { Location: `${baseUrl}/api/now/attachment/${sysId}` }, json: { result: meta } };
    }
    if (method === 'GET' && rest.length === 0) {
      const metas = state.attachments.map((a) => a.meta).filter((m) => canRead(user, m.table_name));
      const fields = new Set(metas.flatMap((m) => Object.keys(m)));
      const matched = applyEncodedQuery(metas, query.get('sysparm_query') ?? '', fields);
      const offset = Number(query.get('sysparm_offset') ?? 0) || 0;
      const limit = Number(query.get('sysparm_limit') ?? 10000) || 10000;
      return { status: 200, headers: { 'X-Total-Count': String(matched.length) }, json: { result: matched.slice(offset, offset + limit) } };
    }
    const found = state.attachments.find((a) => a.meta.sys_id === rest[0]);
    if (!found || !canRead(user, found.meta.table_name)) return { status: 404, json: failure('Record doesn\'t exist or ACL restricts the record retrieval', null) };
    if (method === 'GET' && rest.length === 1) return { status: 200, json: { result: found.meta } };
    if (method === 'GET' && rest.length === 2 && rest[1] === 'file') {
      return { status: 200, headers: { 'Content-Type': found.meta.content_type, 'X-Attachment-Metadata': asciiJson(found.meta) }, bytes: found.bytes };
    }
    if (method === 'DELETE' && rest.length === 1) {
      if (!canWrite(user, found.meta.table_name)) return { status: 403, json: failure('Operation Failed', 'ACL Exception Delete Failed due to security constraints') };
      state.attachments.splice(state.attachments.indexOf(found), 1);
      return { status: 204 };
    }
    return { status: 405, json: failure('Method not Supported', `${method} is not supported on this resource`) };
  }

  function route(req: IncomingMessage, url: URL, body: Buffer): { reply: Reply; user?: ServiceNowUser } {
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const fault = faults.find((f) => f.left > 0 && matches(f.pattern, method, path));
    if (fault) {
      fault.left--;
      return { reply: faultReply(fault.fault) };
    }
    const user = authenticate(req);
    if (!user) return { reply: { status: 401, headers: { 'WWW-Authenticate': 'BASIC realm="Service-now"' }, json: NOT_AUTHENTICATED } };
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (segments[0] !== 'api' || segments[1] !== 'now') return { reply: { status: 400, json: failure('Requested URI does not represent any resource', null) }, user };
    if (segments[2] === 'table' && segments.length >= 4 && segments.length <= 5 && /^[a-z_][a-z0-9_]*$/.test(segments[3])) {
      return { reply: handleTable(method, segments[3], segments[4], url.searchParams, body, user), user };
    }
    if (segments[2] === 'attachment') return { reply: handleAttachment(method, segments.slice(3), url.searchParams, req, body, user), user };
    return { reply: { status: 400, json: failure('Requested URI does not represent any resource', null) }, user };
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://emulator');
      const body = Buffer.concat(chunks);
      const { reply, user } = size > MAX_BODY ? { reply: { status: 413, json: failure('Request entity too large', null) } as Reply, user: undefined } : route(req, url, body);
      const headers = { ...req.headers };
      if (headers.authorization) headers.authorization = `${headers.authorization.split(' ')[0]} ${user?.username ?? '?'}:[redacted]`;
      const entry: EmulatorRequest = {
        at: now().toISOString(), method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams),
        headers, authUser: user?.username, body, outcome: reply.status,
      };
      state.requests.push(entry);
      const crash = crashes.find((c) => c.left > 0 && matches(c.pattern, entry.method, entry.path));
      if (crash && reply.status < 400) {
        crash.left--;
        entry.outcome = 'dropped';
        req.socket.destroy();
        return;
      }
      send(res, reply);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl,
    state,
    injectFault(pattern, fault) {
      faults.push({ pattern, fault, left: fault.times ?? 1 });
    },
    crashAfter(pattern, o = {}) {
      crashes.push({ pattern, left: o.times ?? 1 });
    },
    clearFaults() {
      faults = [];
      crashes = [];
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function faultReply(f: FaultSpec): Reply {
  switch (f.status) {
    case 401: return { status: 401, headers: { 'WWW-Authenticate': 'BASIC realm="Service-now"' }, json: NOT_AUTHENTICATED };
    case 403: return { status: 403, json: ACL_INSERT };
    case 429: return {
      status: 429,
      headers: { ...(f.retryAfterSeconds !== undefined ? { 'Retry-After': String(f.retryAfterSeconds) } : {}), 'X-RateLimit-Limit': '100' },
      json: failure('Rate limit exceeded', 'The rate limit for this user has been exceeded; retry later'),
    };
    case 503: return {
      status: 503,
      headers: f.retryAfterSeconds !== undefined ? { 'Retry-After': String(f.retryAfterSeconds) } : {},
      json: failure('Service Unavailable', 'The instance is temporarily unavailable'),
    };
  }
}

function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let payload: Buffer | undefined;
  if (reply.bytes) payload = reply.bytes;
  else if (reply.json !== undefined) {
    payload = Buffer.from(JSON.stringify(reply.json), 'utf8');
    headers['Content-Type'] = 'application/json;charset=UTF-8';
  }
  if (payload) headers['Content-Length'] = String(payload.length);
  res.writeHead(reply.status, headers);
  res.end(payload);
}

/** JSON with every non-ASCII character escaped, so it can travel in a header. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

import https from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { parseXml, xmlEscape, type XmlElement } from '../../connectors/paloalto/panos-xml';
import { generateSandboxTls, type SandboxTls } from '../graph/self-signed-tls';
import { commitCandidate, recordChange } from './panos-commit';
import type { PanOsState } from './panos-state';
import { firstMatchingRule } from './panos-policy';

/**
 * The PAN-OS XML API (`/api/`) over https, on the same device state as the CLI emulator, so one
 * contract suite runs against both transports. It answers the documented response shapes:
 * `<response status="success" code="19|20|7">`, `status="error"` with `<msg><line>` text, commit
 * jobs polled with `<show><jobs><id>`, GlobalProtect `<entry>`s as in Palo Alto's own example.
 */
export interface PanOsApiEmulator {
  url: string;
  port: number;
  tls: SandboxTls;
  /** SHA-256 of the server certificate, `AA:BB:…` */
  certificateSha256: string;
  state: PanOsState;
  /** every request as received (form fields), key never included */
  requests: Array<Record<string, string>>;
  close(): Promise<void>;
}

const VSYS = /^\/config\/devices\/entry\[@name='localhost\.localdomain'\]\/vsys\/entry\[@name='([A-Za-z0-9_-]+)'\]\/(.*)$/;
const NAME = `([A-Za-z0-9_][A-Za-z0-9_. -]{0,62})`;

const ok = (inner = '', code = '19') => `<response status="success" code="${code}">${inner}</response>`;
const error = (lines: string[], code = '17') => `<response status="error" code="${code}"><msg>${lines.map((l) => `<line><![CDATA[ ${l.replace(/]]>/g, '')}]]></line>`).join('')}</msg></response>`;

export async function startPanOsApiEmulator(opts: {
  state: PanOsState;
  /** API key → administrator name */
  keys: Record<string, string>;
  port?: number;
  /** how many polls a commit job answers ACT before FIN */
  jobPolls?: number;
}): Promise<PanOsApiEmulator> {
  const tls = generateSandboxTls();
  const state = opts.state;
  const requests: Array<Record<string, string>> = [];
  const jobs = new Map<string, { polls: number; result: 'OK' | 'FAIL'; details: string[]; admin: string }>();
  let nextJob = 1;

  const handle = (p: Record<string, string>, admin: string): string => {
    if (p.type === 'config') return config(p, admin);
    if (p.type === 'commit') return commit(p, admin);
    if (p.type === 'op') return op(p);
    return error([`Illegal value for parameter "type" [${p.type ?? ''}].`], '18');
  };

  function config(p: Record<string, string>, admin: string): string {
    const m = VSYS.exec(p.xpath ?? '');
    if (!m) return error(['No such node'], '7');
    const [, , rest] = m;
    const c = state.candidate;
    const conf = p.action === 'show' ? state.running : c;
    let r: RegExpExecArray | null;
    if ((r = new RegExp(`^address/entry\\[@name='${NAME}'\\]$`).exec(rest))) {
      const name = r[1];
      if (p.action === 'get' || p.action === 'show') {
        const a = conf.address.get(name);
        if (!a) return ok('<result/>', '7');
        return ok(`<result total-count="1" count="1"><entry name="${xmlEscape(name)}" admin="${xmlEscape(admin)}"><ip-netmask>${xmlEscape(a.ipNetmask)}</ip-netmask>${a.description ? `<description>${xmlEscape(a.description)}</description>` : ''}</entry></result>`);
      }
      if (p.action === 'set') {
        const el = element(p.element);
        if (!el) return error(['Malformed Request'], '3');
        const ipNetmask = el.find((e) => e.name === 'ip-netmask')?.text.trim();
        const description = el.find((e) => e.name === 'description')?.text;
        if (el.some((e) => e.name !== 'ip-netmask' && e.name !== 'description')) return error([`address -> ${name} -> ${el.find((e) => e.name !== 'ip-netmask' && e.name !== 'description')!.name} is unexpected`], '12');
        const cur = c.address.get(name);
        if (ipNetmask !== undefined && !validIpNetmask(ipNetmask)) return error([`address -> ${name} -> ip-netmask '${ipNetmask}' is not a valid IP address`], '12');
        if (!cur && ipNetmask === undefined) return error([`address -> ${name} is missing 'ip-netmask'`], '12');
        c.address.set(name, { ipNetmask: ipNetmask ?? cur!.ipNetmask, description: description ?? cur?.description });
        recordChange(state, admin, 'address', name);
        return ok('<msg>command succeeded</msg>', '20');
      }
      if (p.action === 'delete') {
        if (!c.address.has(name)) return ok('<msg>command succeeded</msg>', '7');
        const refs = [...c.addressGroup].filter(([, g]) => g.static.includes(name)).map(([g]) => `address-group -> ${g} -> static`);
        for (const rule of c.rules) if (rule.source.includes(name)) refs.push(`rulebase -> security -> rules -> ${rule.name} -> source`);
        if (refs.length) return error([`${name} cannot be deleted because of references from:`, ...refs], '12');
        c.address.delete(name);
        recordChange(state, admin, 'address', name);
        return ok('<msg>command succeeded</msg>', '20');
      }
    }
    if ((r = new RegExp(`^address-group/entry\\[@name='${NAME}'\\](/static(?:/member\\[text\\(\\)='${NAME}'\\])?)?$`).exec(rest))) {
      const [, name, sub, member] = r;
      if ((p.action === 'get' || p.action === 'show') && !sub) {
        const g = conf.addressGroup.get(name);
        if (!g) return ok('<result/>', '7');
        return ok(`<result total-count="1" count="1"><entry name="${xmlEscape(name)}" admin="${xmlEscape(admin)}"><static>${g.static.map((x) => `<member>${xmlEscape(x)}</member>`).join('')}</static></entry></result>`);
      }
      if (p.action === 'set' && sub === '/static') {
        const el = element(p.element);
        if (!el || !el.length || el.some((e) => e.name !== 'member' || !new RegExp(`^${NAME}$`).test(e.text.trim()))) return error(['Malformed Request'], '3');
        // Member references are validated at commit, as on the device.
        const g = c.addressGroup.get(name) ?? { static: [] };
        g.static = [...new Set([...g.static, ...el.map((e) => e.text.trim())])];
        c.addressGroup.set(name, g);
        recordChange(state, admin, 'address-group', name);
        return ok('<msg>command succeeded</msg>', '20');
      }
      if (p.action === 'delete' && member) {
        const g = c.addressGroup.get(name);
        if (!g || !g.static.includes(member)) return ok('<msg>command succeeded</msg>', '7');
        g.static = g.static.filter((x) => x !== member);
        recordChange(state, admin, 'address-group', name);
        return ok('<msg>command succeeded</msg>', '20');
      }
    }
    return error([`Unsupported action ${p.action ?? '(none)'} at this node`], '7');
  }

  function commit(p: Record<string, string>, admin: string): string {
    const cmd = tryXml(p.cmd ?? '');
    if (!cmd || cmd.name !== 'commit') return error(['Malformed Request'], '3');
    let only: string | undefined;
    if (cmd.children.length) {
      const members = cmd.children.find((c) => c.name === 'partial')?.children.find((c) => c.name === 'admin')?.children.filter((c) => c.name === 'member') ?? [];
      if (cmd.children.length !== 1 || members.length !== 1) return error(['commit -> partial: only <admin><member>NAME</member></admin> is emulated'], '17');
      only = members[0].text.trim();
    }
    const r = commitCandidate(state, only);
    if (r.kind === 'no-changes') return ok('<msg>There are no changes to commit.</msg>');
    const id = String(nextJob++);
    jobs.set(id, { polls: 0, admin, result: r.kind === 'committed' ? 'OK' : 'FAIL', details: r.kind === 'committed' ? ['Configuration committed successfully'] : ['Validation Error:', ...r.errors, 'Commit failed'] });
    return ok(`<result><msg><line>Commit job enqueued with jobid ${id}</line></msg><job>${id}</job></result>`);
  }

  function op(p: Record<string, string>): string {
    const cmd = tryXml(p.cmd ?? '');
    if (!cmd) return error(['Malformed Request'], '3');
    const path = (el: XmlElement): string[] => [el.name, ...(el.children.length === 1 ? path(el.children[0]) : [])];
    const at = path(cmd).join(' ');
    if (at.startsWith('show jobs id')) {
      const id = cmd.children[0].children[0].text.trim();
      const j = jobs.get(id);
      if (!j) return error([`job ${id} not found`], '17');
      const running = j.polls++ < (opts.jobPolls ?? 1);
      return ok(`<result><job><tenq>2026/11/27 09:00:00</tenq><tdeq>09:00:00</tdeq><id>${id}</id><user>${xmlEscape(j.admin)}</user><type>Commit</type>`
        + (running
          ? '<status>ACT</status><queued>NO</queued><stoppable>yes</stoppable><result>PEND</result><tfin>Still Active</tfin><description></description><positionInQ>0</positionInQ><progress>55</progress><warnings></warnings><details></details>'
          : `<status>FIN</status><queued>NO</queued><stoppable>no</stoppable><result>${j.result}</result><tfin>09:00:12</tfin><description></description><positionInQ>0</positionInQ><progress>100</progress><details>${j.details.map((l) => `<line><![CDATA[ ${l}]]></line>`).join('')}</details><warnings></warnings>`)
        + '</job></result>');
    }
    const gpShow = cmd.name === 'show' && cmd.children[0]?.name === 'global-protect-gateway' && cmd.children[0].children[0]?.name === 'current-user';
    if (gpShow) {
      const filter = cmd.children[0].children[0];
      const gw = filter.children.find((c) => c.name === 'gateway')?.text.trim();
      const unknown = filter.children.find((c) => c.name !== 'gateway' && c.name !== 'user');
      if (unknown) return error([`show -> global-protect-gateway -> current-user -> ${unknown.name} is unexpected`]);
      const user = filter.children.find((c) => c.name === 'user')?.text.trim();
      const rows = state.globalProtect.filter((u) => (!gw || u.gateway === gw) && (!user || u.user === user));
      return ok(`<result>${rows.map((u) => '<entry>'
        + `<domain>${xmlEscape(u.domain)}</domain><islocal>no</islocal><username>${xmlEscape(u.user)}</username><primary-username>${xmlEscape(`${u.domain}\\${u.user}`)}</primary-username>`
        + `<computer>${xmlEscape(u.computer)}</computer><client>${xmlEscape(u.client)}</client><vpn-type>Device Level VPN</vpn-type>`
        + `<virtual-ip>${u.privateIp}</virtual-ip><virtual-ipv6>::</virtual-ipv6><public-ip>${isIP(u.publicIp) === 4 ? u.publicIp : '0.0.0.0'}</public-ip><public-ipv6>${isIP(u.publicIp) === 6 ? u.publicIp : '::'}</public-ipv6>`
        + `<tunnel-type>IPSec</tunnel-type><public-connection-ipv6>${isIP(u.publicIp) === 6 ? 'yes' : 'no'}</public-connection-ipv6><login-time>${xmlEscape(u.loginTime)}</login-time><lifetime>2592000</lifetime>`
        + '</entry>').join('')}</result>`);
    }
    const logout = cmd.name === 'request' && cmd.children[0]?.name === 'global-protect-gateway' && cmd.children[0].children[0]?.name === 'client-logout';
    if (logout) {
      const kv = new Map<string, string>();
      for (const c of cmd.children[0].children[0].children) {
        if (!['gateway', 'user', 'reason', 'computer', 'domain'].includes(c.name) || kv.has(c.name)) return error([`request -> global-protect-gateway -> client-logout -> ${c.name} is unexpected`]);
        kv.set(c.name, c.text);
      }
      if (!kv.get('gateway') || !kv.get('user')) return error(['request -> global-protect-gateway -> client-logout is missing \'gateway\' or \'user\'']);
      if (kv.get('reason') !== 'force-logout') return error([`request -> global-protect-gateway -> client-logout -> reason '${kv.get('reason') ?? ''}' is not a valid value`]);
      const i = state.globalProtect.findIndex((u) => u.gateway === kv.get('gateway') && u.user === kv.get('user')
        && (!kv.has('computer') || u.computer === kv.get('computer')) && (!kv.has('domain') || u.domain === kv.get('domain')));
      const echo = `<gateway>${xmlEscape(kv.get('gateway')!)}</gateway><domain>${xmlEscape(kv.get('domain') ?? '(null)')}</domain><user>${xmlEscape(kv.get('user')!)}</user><computer>${xmlEscape(kv.get('computer') ?? '')}</computer>`;
      if (i < 0) return ok(`<result><response status="error">${echo}<error>User not found</error></response></result>`);
      state.globalProtect.splice(i, 1);
      return ok(`<result><response status="success">${echo}<status>success</status></response></result>`);
    }
    if (cmd.name === 'test' && cmd.children[0]?.name === 'security-policy-match') {
      const kv = new Map(cmd.children[0].children.map((c) => [c.name, c.text.trim()] as const));
      const allowed = ['from', 'to', 'source', 'destination', 'protocol', 'destination-port', 'application', 'source-user'];
      const bad = cmd.children[0].children.find((c) => !allowed.includes(c.name));
      if (bad) return error([`test -> security-policy-match -> ${bad.name} is unexpected`]);
      const src = kv.get('source');
      const dst = kv.get('destination');
      if (!src || !isIP(src) || (dst !== undefined && !isIP(dst))) return error(['test -> security-policy-match -> source is invalid']);
      const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
      const i = firstMatchingRule(state.running, { from: kv.get('from'), to: kv.get('to'), src, dst, proto: num(kv.get('protocol')), port: num(kv.get('destination-port')) });
      if (i < 0) return ok('<result><rules/></result>');
      const r = state.running.rules[i];
      const members = (v: string[] | undefined) => (v?.length ? v : ['any']).map((m) => `<member>${xmlEscape(m)}</member>`).join('');
      return ok(`<result><rules><entry name="${xmlEscape(r.name)}"><index>${i + 1}</index><from>${members(r.from)}</from><source>${members(r.source)}</source>`
        + `<to>${members(r.to)}</to><destination>${members(r.destination)}</destination><action>${r.action}</action></entry></rules></result>`);
    }
    const sessionShow = at.startsWith('show session all filter');
    if (sessionShow) {
      const filter = cmd.children[0].children[0].children[0];
      if (filter.children.length !== 1 || !['source', 'destination'].includes(filter.children[0].name) || !isIP(filter.children[0].text.trim())) {
        return error([`show -> session -> all -> filter -> ${filter.children[0]?.name ?? ''} is invalid`]);
      }
      const dir = filter.children[0].name;
      const ip = filter.children[0].text.trim();
      const rows = state.sessions.filter((s) => (dir === 'source' ? s.src : s.dst) === ip);
      return ok(`<result>${rows.map((s) => '<entry>'
        + `<dst>${s.dst}</dst><xsource>${s.src}</xsource><source>${s.src}</source><xdst>${s.dst}</xdst><xsport>${s.srcPort}</xsport><xdport>${s.dstPort}</xdport>`
        + `<sport>${s.srcPort}</sport><dport>${s.dstPort}</dport><proto>${s.proto}</proto><from>${s.srcZone}</from><to>${s.dstZone}</to>`
        + `<start-time>Thu Nov 27 07:41:12 2026</start-time><nat>False</nat><srcnat>False</srcnat><dstnat>False</dstnat><proxy>False</proxy><decrypt-mirror>False</decrypt-mirror>`
        + `<state>${s.state}</state><type>${s.type}</type><total-byte-count>4096</total-byte-count><idx>${s.id}</idx><vsys-idx>1</vsys-idx><vsys>${s.vsys}</vsys>`
        + `<application>${xmlEscape(s.app)}</application><security-rule>allow-web</security-rule><ingress>ethernet1/1</ingress><egress>ethernet1/2</egress><flags>${s.flag || ' '}</flags>`
        + '</entry>').join('')}</result>`);
    }
    return error([`${path(cmd).join(' -> ')} is unexpected`]);
  }

  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://emulator');
      const send = (status: number, body: string) => { res.writeHead(status, { 'Content-Type': 'application/xml; charset=UTF-8' }); res.end(body); };
      if (url.pathname !== '/api/' && url.pathname !== '/api') return send(404, '<html><body>Not Found</body></html>');
      const p: Record<string, string> = Object.fromEntries(url.searchParams);
      if (req.method === 'POST') for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) p[k] = v;
      const key = (req.headers['x-pan-key'] as string | undefined) ?? p.key;
      delete p.key;
      requests.push(p);
      const admin = key !== undefined ? opts.keys[key] : undefined;
      if (!admin) return send(403, '<response status="error" code="403"><result><msg>Invalid Credential</msg></result></response>');
      send(200, handle(p, admin));
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`, port, tls, state, requests,
    certificateSha256: new X509Certificate(tls.certPem).fingerprint256,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function tryXml(text: string): XmlElement | undefined {
  try { return parseXml(text); } catch { return undefined; }
}

/** The children of an `element` parameter (a fragment: several sibling elements). */
function element(text: string | undefined): XmlElement[] | undefined {
  if (!text) return undefined;
  return tryXml(`<element>${text}</element>`)?.children;
}

function validIpNetmask(v: string): boolean {
  const [ip, len, ...rest] = v.split('/');
  const fam = isIP(ip);
  if (rest.length || !fam) return false;
  if (len === undefined) return true;
  return /^\d{1,3}$/.test(len) && Number(len) <= (fam === 4 ? 32 : 128);
}

import type { FlowSession, VpnSession } from '../firewall/driver';
import { allText, child, childrenNamed, childText, parseXml, XmlParseError, type XmlElement } from './panos-xml';

/** The API answered `status="error"` (or not with a PAN-OS response at all): carries its msg text. */
export class PanOsApiResponseError extends Error {
  constructor(readonly apiMessage: string, readonly code: string | undefined) {
    super(apiMessage);
    this.name = 'PanOsApiResponseError';
  }
}

/**
 * Parses an API answer and returns its `<response>` element when `status="success"`. Every other
 * answer throws with the API's own words: `<msg>` text (in `<line>`s or CDATA), wherever it sits.
 */
export function parseApiResponse(body: string): XmlElement {
  let root: XmlElement;
  try {
    root = parseXml(body);
  } catch (e) {
    const head = body.slice(0, 200).replace(/\s+/g, ' ').trim();
    throw new PanOsApiResponseError(`not an XML answer (${(e as XmlParseError).message}): ${JSON.stringify(head)}`, undefined);
  }
  if (root.name !== 'response') throw new PanOsApiResponseError(`not a PAN-OS API answer: root element <${root.name}>`, undefined);
  const status = root.attrs.status;
  if (status === 'success') return root;
  const msgs = collect(root, 'msg').flatMap(allText);
  const text = msgs.length ? msgs.join(' ') : allText(root).join(' ') || '(no message)';
  throw new PanOsApiResponseError(status === 'error' ? text : `status ${JSON.stringify(status ?? '(none)')}: ${text}`, root.attrs.code);
}

function collect(el: XmlElement, name: string): XmlElement[] {
  return el.children.flatMap((c) => (c.name === name ? [c] : collect(c, name)));
}

/** `type=config&action=get|show` of an address-group entry: its static members, or undefined when absent. */
export function parseGroupMembers(response: XmlElement, group: string): string[] | undefined {
  const result = child(response, 'result');
  const entry = childrenNamed(result, 'entry').find((e) => e.attrs.name === group);
  if (!entry) return undefined;
  return childrenNamed(child(entry, 'static'), 'member').map((m) => m.text.trim()).filter(Boolean);
}

/** Whether a `type=config&action=get` of an address entry found it. */
export function showsAddress(response: XmlElement, name: string): boolean {
  return childrenNamed(child(response, 'result'), 'entry').some((e) => e.attrs.name === name);
}

/** `type=commit`: the job id, or null when `There are no changes to commit.` */
export function parseCommitJob(response: XmlElement): string | null {
  const job = childText(child(response, 'result'), 'job');
  if (job && /^\d+$/.test(job)) return job;
  const said = allText(response).join(' ');
  if (/no changes to commit/i.test(said)) return null;
  throw new PanOsApiResponseError(`commit answered neither a job id nor "no changes": ${JSON.stringify(said.slice(0, 200))}`, response.attrs.code);
}

export interface PanOsJob {
  id: string;
  /** ACT while running, FIN when done */
  status: string;
  /** PEND, OK or FAIL */
  result: string;
  progress: number | null;
  details: string[];
}

/** `<show><jobs><id>N</id></jobs></show>` */
export function parseJob(response: XmlElement): PanOsJob {
  const job = child(child(response, 'result'), 'job');
  if (!job) throw new PanOsApiResponseError('the job status answer has no <job>', response.attrs.code);
  const progress = Number(childText(job, 'progress'));
  return {
    id: childText(job, 'id') ?? '',
    status: childText(job, 'status') ?? '',
    result: childText(job, 'result') ?? '',
    progress: Number.isFinite(progress) ? progress : null,
    details: [...childrenNamed(child(job, 'details'), 'line').flatMap(allText), ...childrenNamed(child(job, 'warnings'), 'line').flatMap(allText)],
  };
}

/**
 * `<show><global-protect-gateway><current-user/>…`: one `<entry>` a connected user, with
 * `username`, `domain`, `computer` (free text such as `Dan’s iPhone`), `virtual-ip`, `public-ip`,
 * `login-time`, `login-time-utc`. The entry does not name the gateway: the caller knows it.
 */
export function parseApiGlobalProtectUsers(response: XmlElement, firewallId: string, gateway: string | undefined): VpnSession[] {
  const ip = (v: string | undefined) => (v && v !== '::' && v !== '0.0.0.0' ? v : null);
  return childrenNamed(child(response, 'result'), 'entry').map((e) => {
    const raw = childText(e, 'username') ?? childText(e, 'primary-username') ?? '';
    const user = raw.includes('\\') ? raw.slice(raw.lastIndexOf('\\') + 1) : raw;
    const utc = Number(childText(e, 'login-time-utc'));
    return {
      firewallId, kind: 'globalprotect' as const, user,
      sourceIp: ip(childText(e, 'public-ip')) ?? ip(childText(e, 'public-ipv6')),
      tunnelIp: ip(childText(e, 'virtual-ip')) ?? ip(childText(e, 'virtual-ipv6')),
      durationSeconds: null, bytesIn: null, bytesOut: null,
      handle: { gateway, computer: childText(e, 'computer'), domain: childText(e, 'domain') },
      loginTime: Number.isFinite(utc) && utc > 0 ? new Date(utc * 1000).toISOString() : childText(e, 'login-time'),
    };
  });
}

const PROTO: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmp6' };

/** `<show><session><all><filter>…`: one `<entry>` a session (`idx`, `source`, `sport`, `dst`, `dport`, `proto`, …). */
export function parseApiSessions(response: XmlElement, firewallId: string): FlowSession[] {
  const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
  return childrenNamed(child(response, 'result'), 'entry').map((e) => {
    const proto = childText(e, 'proto') ?? '';
    return {
      firewallId, id: childText(e, 'idx') ?? null,
      proto: PROTO[proto] ?? proto,
      src: childText(e, 'source') ?? '', srcPort: num(childText(e, 'sport')),
      dst: childText(e, 'dst') ?? '', dstPort: num(childText(e, 'dport')),
      durationSeconds: null, bytesOriginal: null, bytesReply: null,
      application: childText(e, 'application'), state: childText(e, 'state'),
    };
  });
}

/** A rule `<test><security-policy-match>` names: its name, position and action. */
export interface ApiPolicyRule { name: string; index: number | null; action: string }

/**
 * `<test><security-policy-match>`: `<result><rules><entry name="…">` with `<index>` and `<action>`
 * children; older releases put the CLI's `"<name>; index: <n>"` text in the entry instead. An empty
 * `<rules/>` means no configured rule matched (the zone default applies).
 */
export function parseApiPolicyMatch(response: XmlElement): ApiPolicyRule[] {
  const rules = child(child(response, 'result'), 'rules');
  return childrenNamed(rules, 'entry').map((e) => {
    const text = e.text.trim();
    const legacy = /^"?(.+?); index: (\d+)"?/.exec(text);
    const name = e.attrs.name ?? legacy?.[1] ?? text;
    const idx = childText(e, 'index') ?? legacy?.[2];
    return { name, index: idx !== undefined && /^\d+$/.test(idx) ? Number(idx) : null, action: childText(e, 'action') ?? (/action (\S+?);/.exec(text)?.[1] ?? 'unknown') };
  });
}

import { isIP } from 'node:net';
import { ConnectorError } from '../../types';
import { shellQuote, type RemoteShell } from '../remote-shell';
import { errorCauseFromName, type ErrorCause } from './error-cause';
import type { DisconnectTarget, WireOutcome } from './disconnect-client';

/**
 * The seed's second mode: SSH into the RADIUS server and let its `radclient` send the
 * Disconnect-Requests (useful when only that server may reach the NAS). The secret never appears on
 * a command line: the remote shell reads it from stdin into a private temporary file for `-S`,
 * removed on exit; the attribute lists follow on the same stdin, one packet per blank-line block.
 */

export interface RadclientPacket {
  key: string;
  /** `Name = value` lines, already validated and quoted (see radius-string.ts) */
  lines: string[];
}

export interface RadclientOutcome {
  key: string;
  outcome: WireOutcome;
  /** Identifier radclient used (last transmission) */
  identifier?: number;
  transmissions: number;
  errorCause?: ErrorCause;
}

export interface RadclientTranscript {
  host: string;
  command: string;
  /** what went to radclient's stdin, without the secret line */
  packets: string;
  stdout: string;
  stderr: string;
  exitCode: number | null;
  startedAt: string;
  finishedAt: string;
}

const HOST = /^[A-Za-z0-9.\-:]+$/;

export function radclientCommand(target: Pick<DisconnectTarget, 'host' | 'port'>, opts: { timeoutMs: number; retries: number; parallel: number }): string {
  if (!HOST.test(target.host)) throw new ConnectorError(`NAS host ${JSON.stringify(target.host)} is not a host name or address`);
  const server = isIP(target.host) === 6 ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  const seconds = Math.max(0.001, opts.timeoutMs / 1000).toFixed(3);
  return [
    'umask 077',
    'f=$(mktemp) || exit 97',
    `trap 'rm -f -- "$f"' EXIT HUP INT TERM`,
    // `read` stops at the newline (POSIX: it must not read past it), leaving the packets for radclient.
    'IFS= read -r s || exit 98',
    `printf '%s\\n' "$s" > "$f"`,
    'unset s',
    `radclient -F -x -p ${opts.parallel} -r ${opts.retries + 1} -t ${seconds} -S "$f" ${shellQuote(server)} disconnect`,
  ].join('; ');
}

export async function radclientDisconnect(
  shell: RemoteShell,
  target: DisconnectTarget,
  packets: RadclientPacket[],
  opts: { timeoutMs: number; retries: number; parallel?: number; now?: () => Date },
): Promise<{ outcomes: RadclientOutcome[]; transcript: RadclientTranscript }> {
  if (/[\r\n\0]/.test(target.secret)) throw new ConnectorError(`the secret of NAS ${target.nasId} contains a line break, which radclient -S cannot read`);
  for (const p of packets) {
    for (const l of p.lines) if (/[\r\n\0]/.test(l)) throw new ConnectorError('refused to pass a line break to radclient');
  }
  const now = opts.now ?? (() => new Date());
  const parallel = Math.max(1, Math.min(opts.parallel ?? 32, 255));
  const command = radclientCommand(target, { timeoutMs: opts.timeoutMs, retries: opts.retries, parallel });
  const body = packets.map((p) => `${p.lines.join('\n')}\n`).join('\n');
  const rounds = Math.ceil(packets.length / parallel);
  const budget = (opts.retries + 1) * opts.timeoutMs * rounds + 15_000;
  const startedAt = now().toISOString();
  const r = await shell.exec(command, { stdin: `${target.secret}\n${body}`, timeoutMs: budget });
  const transcript: RadclientTranscript = {
    host: shell.label, command, packets: body, stdout: r.stdout, stderr: r.stderr, exitCode: r.code, startedAt, finishedAt: now().toISOString(),
  };
  if (r.code === 127 || /radclient: (command )?not found/.test(r.stderr)) {
    throw new ConnectorError(`radclient is not installed on ${shell.label} (Debian: apt-get install freeradius-utils)`, { source: 'radius.coa' });
  }
  if (r.code === 97 || r.code === 98) throw new ConnectorError(`could not hand the NAS secret to radclient on ${shell.label} (mktemp/read failed)`, { source: 'radius.coa' });
  const outcomes = parseRadclientOutput(r.stdout, packets);
  if (outcomes.every((o) => o.transmissions === 0) && packets.length) {
    const why = (r.stderr || r.stdout).trim().split('\n').filter((l) => !l.includes(target.secret)).slice(-2).join(' | ');
    throw new ConnectorError(`radclient on ${shell.label} sent nothing to ${target.host}:${target.port} (exit ${r.code}): ${why}`, { source: 'radius.coa' });
  }
  return { outcomes, transcript };
}

const SENT = /^Sent Disconnect-Request Id (\d+) /;
const RECEIVED = /^Received (Disconnect-ACK|Disconnect-NAK|\S+) Id (\d+) /;
const RESPONSE_CODE = /^\((\d+)\) (?:\S+ )?- response code (\d+)/;
const NO_REPLY = /^\((\d+)\) No reply from server for ID (\d+)/;

/**
 * Reads `radclient -F -x` output: `Sent ... Id N` blocks (with the attributes, which say which packet
 * it was), `(i) - response code C`, `Received Disconnect-ACK|NAK Id N` blocks (with Error-Cause),
 * `(i) No reply from server for ID N`. `i` is the packet's index in the input.
 */
export function parseRadclientOutput(stdout: string, packets: RadclientPacket[]): RadclientOutcome[] {
  const outcomes: RadclientOutcome[] = packets.map((p) => ({ key: p.key, outcome: 'no-answer', transmissions: 0 }));
  const signature = (lines: string[]) => lines.map((l) => l.trim()).filter((l) => /^(User-Name|Acct-Session-Id) = /.test(l)).sort().join('\n');
  const bySignature = new Map<string, number[]>();
  packets.forEach((p, i) => {
    const s = signature(p.lines);
    bySignature.set(s, [...(bySignature.get(s) ?? []), i]);
  });
  const idToIndex = new Map<number, number>();
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const block: string[] = [];
    const readBlock = () => {
      while (i + 1 < lines.length && lines[i + 1].startsWith('\t')) block.push(lines[++i]);
    };
    let m: RegExpExecArray | null;
    if ((m = SENT.exec(line))) {
      readBlock();
      const id = Number(m[1]);
      const candidates = bySignature.get(signature(block)) ?? [];
      // A retransmission repeats the Id; a first transmission takes the first packet not yet sent.
      const index = idToIndex.has(id) && candidates.includes(idToIndex.get(id)!) ? idToIndex.get(id)! : candidates.find((c) => outcomes[c].transmissions === 0);
      if (index === undefined) continue;
      idToIndex.set(id, index);
      outcomes[index].transmissions++;
      outcomes[index].identifier = id;
    } else if ((m = RESPONSE_CODE.exec(line))) {
      const index = Number(m[1]);
      const code = Number(m[2]);
      if (outcomes[index]) outcomes[index].outcome = code === 41 ? 'ack' : code === 42 ? 'nak' : 'no-answer';
    } else if ((m = RECEIVED.exec(line))) {
      readBlock();
      const index = idToIndex.get(Number(m[2]));
      if (index === undefined) continue;
      if (m[1] === 'Disconnect-ACK') outcomes[index].outcome = 'ack';
      else if (m[1] === 'Disconnect-NAK') outcomes[index].outcome = 'nak';
      for (const b of block) {
        const ec = /^\s*Error-Cause = (.+)$/.exec(b);
        if (ec) outcomes[index].errorCause = errorCauseFromName(ec[1]) ?? { code: 0, text: ec[1].trim() };
      }
    } else if ((m = NO_REPLY.exec(line))) {
      const index = Number(m[1]);
      if (outcomes[index]) outcomes[index].outcome = 'no-answer';
    }
  }
  return outcomes;
}

import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { describeErrorCause, type ErrorCause } from './error-cause';
import { packetEvidence, type PacketEvidence } from './packet-evidence';
import { RadiusAttr, RadiusCode, codeName, decodePacket, encodeRequest, verifyResponse, type RadiusAttribute } from './radius-packet';

/**
 * Sends RFC 5176 Disconnect-Requests over UDP: in parallel across NAS, pipelined within a NAS with
 * distinct Identifiers (up to 256 per socket, more sockets beyond that, then a queue), retransmitted
 * byte-for-byte on timeout, and answered only by a reply that comes from the NAS's address and port,
 * carries an outstanding Identifier and verifies against the request authenticator and the secret.
 * Anything else is ignored and recorded, never taken as an answer.
 */

export interface DisconnectTarget {
  nasId: string;
  host: string;
  port: number;
  secret: string;
}

export interface DisconnectRequestSpec {
  /** the caller's handle for this request (e.g. the session key) */
  key: string;
  target: DisconnectTarget;
  attributes: RadiusAttribute[];
}

export interface IgnoredReply {
  at: string;
  from: string;
  /** decoded, never the octets (see packet-evidence.ts) */
  packet: PacketEvidence;
  reason: string;
}

export type WireOutcome = 'ack' | 'nak' | 'no-answer' | 'send-failed';

export interface DisconnectExchange {
  key: string;
  nasId: string;
  /** the address the request went to, after name resolution: `ip:port` */
  to: string;
  identifier: number;
  /** the request decoded, with a digest of its masked octets; never the octets or the authenticator */
  request?: PacketEvidence;
  /** one entry per transmission: the first send and every retransmission of the same bytes */
  sentAt: string[];
  outcome: WireOutcome;
  reply?: PacketEvidence;
  replyCode?: string;
  receivedAt?: string;
  errorCause?: ErrorCause;
  replyMessage?: string;
  rttMs?: number;
  /** replies that arrived for this request and were refused (bad authenticator, wrong source, ...) */
  ignoredReplies: IgnoredReply[];
  error?: string;
}

export interface NasExchangeLog {
  nasId: string;
  to: string;
  /** replies that matched no outstanding request: unknown Identifier, foreign source, malformed */
  strayReplies: IgnoredReply[];
  /** UDP sockets used (each carries at most 256 outstanding Identifiers) */
  sockets: number;
}

export interface SendDisconnectsOptions {
  /** Disconnect-Request (40, the default) or CoA-Request (43): the same exchange rules for both (RFC 5176 §2) */
  requestCode?: typeof RadiusCode.DisconnectRequest | typeof RadiusCode.CoaRequest;
  timeoutMs: number;
  retries: number;
  /** sockets per NAS; each carries at most 256 requests in flight (the Identifier is one octet) */
  socketsPerNas?: number;
  /** how many requests may be outstanding at one NAS at once (default 128, at most 256 × socketsPerNas) */
  maxInFlightPerNas?: number;
  signal?: AbortSignal;
  now?: () => Date;
}

export interface SendDisconnectsResult {
  exchanges: DisconnectExchange[];
  nas: NasExchangeLog[];
}

export async function sendDisconnectRequests(
  requests: DisconnectRequestSpec[],
  opts: SendDisconnectsOptions,
): Promise<SendDisconnectsResult> {
  const byNas = new Map<string, DisconnectRequestSpec[]>();
  for (const r of requests) {
    const k = `${r.target.nasId}\u0000${r.target.host}\u0000${r.target.port}`;
    const list = byNas.get(k) ?? [];
    list.push(r);
    byNas.set(k, list);
  }
  const perNas = await Promise.all([...byNas.values()].map((list) => new NasChannel(list[0].target, opts).run(list)));
  const order = new Map(requests.map((r, i) => [r.key, i]));
  const exchanges = perNas.flatMap((p) => p.exchanges).sort((a, b) => (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0));
  return { exchanges, nas: perNas.map((p) => p.log) };
}

interface Pending {
  spec: DisconnectRequestSpec;
  exchange: DisconnectExchange;
  packet: Buffer;
  slot: SocketSlot;
  attempts: number;
  timer?: NodeJS.Timeout;
  firstSentAt: number;
  done: () => void;
}

interface SocketSlot {
  socket: Socket;
  inFlight: Map<number, Pending>;
  nextId: number;
}

class NasChannel {
  private readonly slots: SocketSlot[] = [];
  private readonly waiting: Array<() => void> = [];
  private inFlight = 0;
  private address = '';
  private readonly log: NasExchangeLog;
  private readonly now: () => Date;
  private readonly socketsPerNas: number;
  private readonly maxInFlight: number;
  private readonly requestCode: number;
  private readonly ackCode: number;
  private readonly nakCode: number;

  constructor(private readonly target: DisconnectTarget, private readonly opts: SendDisconnectsOptions) {
    this.now = opts.now ?? (() => new Date());
    this.requestCode = opts.requestCode ?? RadiusCode.DisconnectRequest;
    // the answers RFC 5176 allows to this request code: ACK = request + 1, NAK = request + 2
    this.ackCode = this.requestCode === RadiusCode.CoaRequest ? RadiusCode.CoaAck : RadiusCode.DisconnectAck;
    this.nakCode = this.requestCode === RadiusCode.CoaRequest ? RadiusCode.CoaNak : RadiusCode.DisconnectNak;
    this.socketsPerNas = Math.max(1, opts.socketsPerNas ?? 4);
    // 128 by default: loopback FreeRADIUS starts dropping (socket buffer) near 256 outstanding.
    this.maxInFlight = Math.max(1, Math.min(opts.maxInFlightPerNas ?? 128, 256 * this.socketsPerNas));
    this.log = { nasId: target.nasId, to: `${target.host}:${target.port}`, strayReplies: [], sockets: 0 };
  }

  async run(list: DisconnectRequestSpec[]): Promise<{ exchanges: DisconnectExchange[]; log: NasExchangeLog }> {
    try {
      this.address = isIP(this.target.host) ? this.target.host : (await lookup(this.target.host)).address;
    } catch (e) {
      const error = `cannot resolve ${this.target.host}: ${(e as Error).message}`;
      return { exchanges: list.map((spec) => this.failed(spec, error)), log: this.log };
    }
    this.log.to = `${this.address}:${this.target.port}`;
    // One listener per NAS, not per request: an AbortSignal warns beyond a handful of listeners.
    const onAbort = () => {
      for (const slot of this.slots) for (const p of [...slot.inFlight.values()]) this.finish(p, 'no-answer', 'aborted');
    };
    this.opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const exchanges = await Promise.all(list.map((spec) => this.send(spec)));
      return { exchanges, log: this.log };
    } finally {
      this.opts.signal?.removeEventListener('abort', onAbort);
      for (const s of this.slots) s.socket.close();
    }
  }

  private failed(spec: DisconnectRequestSpec, error: string): DisconnectExchange {
    return {
      key: spec.key, nasId: this.target.nasId, to: this.log.to, identifier: -1, sentAt: [],
      outcome: 'send-failed', ignoredReplies: [], error,
    };
  }

  private async send(spec: DisconnectRequestSpec): Promise<DisconnectExchange> {
    if (this.opts.signal?.aborted) return this.failed(spec, 'aborted before sending');
    while (this.inFlight >= this.maxInFlight) await new Promise<void>((r) => this.waiting.push(r));
    this.inFlight++;
    try {
      if (this.opts.signal?.aborted) return this.failed(spec, 'aborted before sending');
      const slot = this.slotWithFreeId();
      const identifier = this.takeId(slot);
      let packet: Buffer;
      try {
        packet = encodeRequest(this.requestCode, identifier, spec.attributes, this.target.secret);
      } catch (e) {
        return this.failed(spec, `cannot encode the request: ${(e as Error).message}`);
      }
      const exchange: DisconnectExchange = {
        key: spec.key, nasId: this.target.nasId, to: this.log.to, identifier,
        request: packetEvidence(packet), sentAt: [], outcome: 'no-answer', ignoredReplies: [],
      };
      await new Promise<void>((done) => {
        const p: Pending = { spec, exchange, packet, slot, attempts: 0, firstSentAt: 0, done };
        slot.inFlight.set(identifier, p);
        this.transmit(p);
      });
      return exchange;
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  private slotWithFreeId(): SocketSlot {
    const free = this.slots.find((s) => s.inFlight.size < 256);
    if (free) return free;
    // Synchronous on purpose: concurrent senders must see the new socket at once, not each open one.
    // Sends issued before bind completes are queued by node.
    const socket = createSocket(isIP(this.address) === 6 ? 'udp6' : 'udp4');
    socket.bind(0);
    // Random start: a fresh process does not reuse the Identifiers of one that just died.
    const slot: SocketSlot = { socket, inFlight: new Map(), nextId: Math.floor(Math.random() * 256) };
    socket.on('message', (msg, rinfo) => this.onMessage(slot, msg, rinfo));
    socket.on('error', () => { /* a send error is reported by the send callback; bind errors surface there too */ });
    this.slots.push(slot);
    this.log.sockets = this.slots.length;
    return slot;
  }

  private takeId(slot: SocketSlot): number {
    // Sequential allocation delays reuse of an Identifier for as long as possible, so a late
    // duplicate answer to an old request cannot be confused with one for a new request.
    for (let i = 0; i < 256; i++) {
      const id = (slot.nextId + i) & 0xff;
      if (!slot.inFlight.has(id)) {
        slot.nextId = (id + 1) & 0xff;
        return id;
      }
    }
    throw new Error('no free Identifier on this socket'); // unreachable: slotWithFreeId checks the size
  }

  private transmit(p: Pending): void {
    p.attempts++;
    const at = Date.now();
    if (p.attempts === 1) p.firstSentAt = at;
    p.exchange.sentAt.push(this.now().toISOString());
    p.slot.socket.send(p.packet, this.target.port, this.address, (err) => {
      if (err && p.slot.inFlight.get(p.exchange.identifier) === p) this.finish(p, 'send-failed', `send failed: ${err.message}`);
    });
    p.timer = setTimeout(() => {
      if (p.slot.inFlight.get(p.exchange.identifier) !== p) return;
      if (p.attempts <= this.opts.retries) this.transmit(p);
      else this.finish(p, 'no-answer');
    }, this.opts.timeoutMs);
  }

  private finish(p: Pending, outcome: WireOutcome, error?: string): void {
    if (p.slot.inFlight.get(p.exchange.identifier) !== p) return;
    clearTimeout(p.timer);
    p.slot.inFlight.delete(p.exchange.identifier);
    p.exchange.outcome = outcome;
    if (error) p.exchange.error = error;
    p.done();
  }

  private onMessage(slot: SocketSlot, msg: Buffer, rinfo: RemoteInfo): void {
    const ignored = (reason: string): IgnoredReply => ({
      at: this.now().toISOString(), from: `${rinfo.address}:${rinfo.port}`, packet: packetEvidence(msg), reason,
    });
    const pending = msg.length >= 2 ? slot.inFlight.get(msg[1]) : undefined;
    const refuse = (reason: string) => (pending ? pending.exchange.ignoredReplies : this.log.strayReplies).push(ignored(reason));
    if (rinfo.address !== this.address || rinfo.port !== this.target.port) {
      refuse(`reply from ${rinfo.address}:${rinfo.port}, not from the NAS at ${this.log.to}`);
      return;
    }
    if (!pending) {
      this.log.strayReplies.push(ignored(msg.length < 2 ? 'too short' : `no request outstanding with Identifier ${msg[1]}`));
      return;
    }
    if (msg[0] !== this.ackCode && msg[0] !== this.nakCode) {
      refuse(`unexpected ${codeName(msg[0])} in answer to a ${codeName(this.requestCode)}`);
      return;
    }
    const verdict = verifyResponse(msg, pending.packet, this.target.secret);
    if (!verdict.ok) {
      refuse(verdict.reason);
      return;
    }
    let attrs: RadiusAttribute[];
    try {
      attrs = decodePacket(msg).attributes;
    } catch (e) {
      refuse(`malformed: ${(e as Error).message}`);
      return;
    }
    const ex = pending.exchange;
    ex.reply = packetEvidence(msg.subarray(0, msg.readUInt16BE(2)));
    ex.replyCode = codeName(msg[0]);
    ex.receivedAt = this.now().toISOString();
    ex.rttMs = Date.now() - pending.firstSentAt;
    const cause = attrs.find((a) => a.type === RadiusAttr.ErrorCause && a.value.length === 4);
    if (cause) ex.errorCause = describeErrorCause(cause.value.readUInt32BE(0));
    const replyMessage = attrs.filter((a) => a.type === RadiusAttr.ReplyMessage).map((a) => a.value.toString('utf8')).join('');
    if (replyMessage) ex.replyMessage = replyMessage;
    this.finish(pending, msg[0] === this.ackCode ? 'ack' : 'nak');
  }
}

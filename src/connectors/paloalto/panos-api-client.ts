import { createHash, X509Certificate } from 'node:crypto';
import http from 'node:http';
import { isIP } from 'node:net';
import tls from 'node:tls';
import type { PanOsApiConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import { ConnectorError, type RawPayload } from '../types';
import { parseApiResponse, PanOsApiResponseError } from './panos-api-parse';
import type { XmlElement } from './panos-xml';

/** One request and its answer, as kept for evidence: never the API key (it travels in a header). */
export interface ApiExchange {
  params: Record<string, string>;
  httpStatus: number | null;
  body: string;
}

/** The firewall's XML API refused a request (`status="error"`) or answered something else. */
export class PanOsApiError extends ConnectorError {
  constructor(message: string, readonly apiMessage: string, readonly code: string | undefined, opts: { source: string; retryable?: boolean }) {
    super(message, { source: opts.source, retryable: opts.retryable });
    this.name = 'PanOsApiError';
  }
}

const MAX_BODY = 16 * 1024 * 1024;

/**
 * The PAN-OS XML API of one firewall: POST form requests to `<baseUrl>/api/`, the key in the
 * `X-PAN-KEY` header (so it is never in a URL, a log line or the evidence), over a TLS connection
 * whose certificate is pinned (a configured CA, or the certificate's SHA-256) before the request
 * (and the key) is written. Every `status="error"` answer throws, quoting the API's msg.
 */
export class PanOsApiClient {
  readonly exchanges: ApiExchange[] = [];
  private readonly url: URL;

  constructor(private readonly api: PanOsApiConfig, private readonly secrets: SecretStore, private readonly opts: { source: string; device: string }) {
    this.url = new URL(api.baseUrl);
    if (this.url.protocol !== 'https:') throw new ConnectorError(`${opts.device}: the XML API base URL must be https`, { source: opts.source });
  }

  async request(params: Record<string, string>): Promise<XmlElement> {
    const exchange: ApiExchange = { params: { ...params }, httpStatus: null, body: '' };
    this.exchanges.push(exchange);
    const what = describe(params);
    let res: { status: number; body: string };
    try {
      res = await this.post(new URLSearchParams(params).toString());
    } catch (e) {
      if (e instanceof ConnectorError) throw e;
      exchange.body = `(no answer: ${(e as Error).message})`;
      const code = (e as { code?: string }).code ?? '';
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) {
        throw new ConnectorError(`${this.opts.device}: the certificate is not trusted by the pinned CA (${code}); nothing was sent`, { source: this.opts.source, retryable: false });
      }
      throw new ConnectorError(`${this.opts.device}: the XML API did not answer ${what}: ${(e as Error).message}`, { source: this.opts.source, retryable: true });
    }
    exchange.httpStatus = res.status;
    exchange.body = res.body;
    try {
      return parseApiResponse(res.body);
    } catch (e) {
      if (!(e instanceof PanOsApiResponseError)) throw e;
      throw new PanOsApiError(`${this.opts.device}: the XML API refused ${what}${res.status !== 200 ? ` (HTTP ${res.status})` : ''}${e.code ? ` [code ${e.code}]` : ''}: ${JSON.stringify(e.apiMessage)}`,
        e.apiMessage, e.code, { source: this.opts.source, retryable: res.status >= 500 });
    }
  }

  /** The requests made since `from`, as one text payload for the evidence. */
  transcript(from: number, note: string): RawPayload {
    const slice = this.exchanges.slice(from);
    const text = slice.map((x) => `POST /api/ ${new URLSearchParams(x.params).toString()}\n-> ${x.httpStatus ?? 'no answer'}\n${x.body}\n`).join('\n');
    return {
      source: this.opts.source, contentType: 'text/plain; charset=utf-8', body: Buffer.from(text, 'utf8'),
      collectedAt: new Date().toISOString(), note, recordCount: slice.length,
    };
  }

  private async post(form: string): Promise<{ status: number; body: string }> {
    const key = this.secrets.get(this.api.apiKeyRef);
    const socket = await this.connect();
    return new Promise((resolve, reject) => {
      const path = `${this.url.pathname.replace(/\/+$/, '')}/api/`;
      const req = http.request({
        method: 'POST', host: this.url.hostname, path, createConnection: () => socket, timeout: this.api.timeoutMs,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(form), 'X-PAN-KEY': key, Host: this.url.host, Connection: 'close' },
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) { req.destroy(new Error('answer larger than 16 MiB')); return; }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.api.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(form);
    });
  }

  /** A TLS connection whose peer is checked against the pin before anything is written. */
  private connect(): Promise<tls.TLSSocket> {
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(this.url.port || 443);
    const ca = this.api.caCertificateRef ? this.secrets.get(this.api.caCertificateRef) : undefined;
    const pin = this.api.certificateSha256?.replace(/:/g, '').toUpperCase();
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host, port, servername: isIP(host) ? undefined : host,
        // With a CA: normal verification against that CA only (host name included). With a
        // fingerprint: the chain is not judged, the exact certificate is.
        ca, rejectUnauthorized: !!ca, timeout: this.api.timeoutMs,
      });
      const fail = (e: Error) => { socket.destroy(); reject(e); };
      socket.once('error', reject);
      socket.once('timeout', () => fail(new Error(`TLS connection timed out after ${this.api.timeoutMs} ms`)));
      socket.once('secureConnect', () => {
        if (pin) {
          const raw = socket.getPeerCertificate()?.raw;
          const seen = raw ? createHash('sha256').update(raw).digest('hex').toUpperCase() : '(none)';
          if (seen !== pin) {
            fail(new ConnectorError(`${this.opts.device}: the certificate presented is not the pinned one (SHA-256 ${formatFingerprint(seen)}); nothing was sent`, { source: this.opts.source }));
            return;
          }
        }
        socket.setTimeout(0);
        socket.removeListener('error', reject);
        resolve(socket);
      });
    });
  }
}

/** `AA:BB:…` as openssl prints it. */
export function formatFingerprint(hex: string): string {
  return hex.match(/.{2}/g)?.join(':') ?? hex;
}

/** The SHA-256 fingerprint of a PEM certificate, in the customers-file form. */
export function certificateFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

function describe(p: Record<string, string>): string {
  if (p.type === 'config') return `config ${p.action} ${p.xpath?.replace(/^.*\/(address(?:-group)?\/)/, '$1') ?? ''}`.trim();
  return `${p.type} ${(p.cmd ?? '').slice(0, 160)}`;
}

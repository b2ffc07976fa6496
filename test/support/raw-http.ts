import http from 'node:http';
import { readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Sends a request whose body is produced piece by piece (a large upload never sits in memory) and
 * resolves with the response as soon as it arrives: a server that refuses early closes the
 * connection, and the rest of the upload is then dropped on the client side.
 */
export function sendStreaming(url: string, o: { method?: string; headers: Record<string, string | number>; chunks: () => Iterable<Buffer | string> }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method ?? 'POST', headers: o.headers });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', (e) => { if (!answered) reject(e); });
    const it = o.chunks()[Symbol.iterator]();
    const pump = () => {
      while (!answered && !req.destroyed) {
        const n = it.next();
        if (n.done) { req.end(); return; }
        if (!req.write(n.value)) { req.once('drain', pump); return; }
      }
    };
    pump();
  });
}

/** Every file and folder under `dir`, relative to it, sorted: what a request may have left behind. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(path.relative(dir, p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** `count` parts of `partBytes` each, as a browser's multipart/form-data upload would send them. */
export function* multipartParts(boundary: string, count: number, partBytes: number): Iterable<Buffer | string> {
  const block = Buffer.alloc(64 * 1024, 0x41);
  for (let i = 0; i < count; i++) {
    yield `--${boundary}\r\nContent-Disposition: form-data; name="f${i}"; filename="f${i}.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    for (let sent = 0; sent < partBytes; sent += block.length) yield block.subarray(0, Math.min(block.length, partBytes - sent));
    yield '\r\n';
  }
  yield `--${boundary}--\r\n`;
}

/** `total` bytes of one long JSON string, in chunks: `{"x":"AAAA…"}` */
export function* jsonFiller(total: number): Iterable<Buffer | string> {
  const block = Buffer.alloc(64 * 1024, 0x41);
  yield '{"x":"';
  for (let sent = 0; sent < total; sent += block.length) yield block.subarray(0, Math.min(block.length, total - sent));
  yield '"}';
}

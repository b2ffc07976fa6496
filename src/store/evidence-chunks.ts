import { StoreInputError } from './errors';

/** Evidence is stored in pieces of this size: large enough to be cheap, small enough to hold in memory. */
export const EVIDENCE_CHUNK_BYTES = 1024 * 1024;

/**
 * Re-cuts an incoming byte stream into pieces of exactly `size` bytes (the last one shorter).
 * Holds at most one piece plus one incoming buffer in memory.
 */
export async function* rechunk(source: AsyncIterable<Buffer | Uint8Array>, size = EVIDENCE_CHUNK_BYTES): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    if (!(piece instanceof Uint8Array)) throw new StoreInputError('evidence stream: every piece must be a Buffer');
    let buf = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (buf.length > 0) {
      const take = Math.min(size - pendingBytes, buf.length);
      pending.push(buf.subarray(0, take));
      pendingBytes += take;
      buf = buf.subarray(take);
      if (pendingBytes === size) {
        yield Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

/** Cuts a buffer already in memory into stored pieces (views, no copies). */
export function splitBuffer(body: Buffer, size = EVIDENCE_CHUNK_BYTES): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) out.push(body.subarray(i, i + size));
  return out;
}

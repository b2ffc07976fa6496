import { deflateSync, inflateSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The Teams app icons, drawn in code so they can be regenerated and checked: a shield glyph.
 * - color.png: 192x192, full-bleed accent background, white shield (Teams requires no transparency
 *   around the color icon's background).
 * - outline.png: 32x32, white shield on transparent (Teams requires white + alpha only).
 * `tsx scripts/manifest-icons.ts` rewrites manifest/color.png and manifest/outline.png.
 */

export const ACCENT = [0x1f, 0x4e, 0x79] as const;

// ---- a minimal PNG encoder (RGBA, 8 bit, no interlace) ----

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  if (rgba.length !== width * height * 4) throw new RangeError('rgba length does not match width*height*4');
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  const raw = Buffer.alloc(height * (1 + width * 4));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + width * 4)] = 0; // filter: none
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (1 + width * 4) + 1);
  }
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** Reads back what encodePng writes (RGBA 8-bit, filter 0 rows); for tests and checks. */
export function decodeSimplePng(png: Buffer): { width: number; height: number; rgba: Uint8Array } {
  if (!png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG');
  let off = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('ascii', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[9] !== 6) throw new Error('only 8-bit RGBA is supported');
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    if (raw[y * (1 + width * 4)] !== 0) throw new Error('only filter type 0 is supported');
    rgba.set(raw.subarray(y * (1 + width * 4) + 1, (y + 1) * (1 + width * 4)), y * width * 4);
  }
  return { width, height, rgba };
}

// ---- the shield ----

/** Is the point (unit square, y down) inside a shield of the given inset? */
function inShield(x: number, y: number, inset: number): boolean {
  const cx = 0.5;
  const top = 0.14 + inset;
  const shoulder = 0.5;
  const tip = 0.9 - inset * 1.4;
  const half = 0.33 - inset;
  if (y < top || y > tip) return false;
  const dx = Math.abs(x - cx);
  // a shallow notch in the top edge, deepest in the middle
  if (y < top + 0.05 * (1 - dx / half)) return false;
  if (y <= shoulder) return dx <= half;
  const t = (y - shoulder) / (tip - shoulder);
  return dx <= half * Math.sqrt(Math.max(0, 1 - t * t));
}

/** Coverage of a pixel by the shape, 4x4 supersampled for smooth edges. */
function coverage(px: number, py: number, size: number, shape: (x: number, y: number) => boolean): number {
  let hits = 0;
  for (let sy = 0; sy < 4; sy++) {
    for (let sx = 0; sx < 4; sx++) {
      if (shape((px + (sx + 0.5) / 4) / size, (py + (sy + 0.5) / 4) / size)) hits++;
    }
  }
  return hits / 16;
}

export function renderColorIcon(size = 192): Buffer {
  const rgba = new Uint8Array(size * size * 4);
  // white shield with an accent inner field, so the glyph reads as a shield, not a blob
  const ring = (x: number, y: number) => inShield(x, y, 0) && !inShield(x, y, 0.05);
  const core = (x: number, y: number) => inShield(x, y, 0.09);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const w = Math.min(1, coverage(x, y, size, ring) + coverage(x, y, size, core));
      const i = (y * size + x) * 4;
      for (let c = 0; c < 3; c++) rgba[i + c] = Math.round(ACCENT[c] * (1 - w) + 255 * w);
      rgba[i + 3] = 255;
    }
  }
  return encodePng(size, size, rgba);
}

export function renderOutlineIcon(size = 32): Buffer {
  const rgba = new Uint8Array(size * size * 4);
  const ring = (x: number, y: number) => inShield(x, y, 0) && !inShield(x, y, 0.07);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      rgba[i] = rgba[i + 1] = rgba[i + 2] = 255;
      rgba[i + 3] = Math.round(255 * coverage(x, y, size, ring));
    }
  }
  return encodePng(size, size, rgba);
}

if (require.main === module) {
  const dir = path.resolve(__dirname, '..', 'manifest');
  writeFileSync(path.join(dir, 'color.png'), renderColorIcon());
  writeFileSync(path.join(dir, 'outline.png'), renderOutlineIcon());
  // eslint-disable-next-line no-console
  console.log(`wrote ${dir}/color.png (192x192) and ${dir}/outline.png (32x32)`);
}

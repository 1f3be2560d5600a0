/**
 * Images for the reliability suite: fresh copies of the shared photos (unique bytes, so never a cache
 * hit), hostile files generated on the spot (issue 6 item 8), and a seeded mutator for the fuzz run
 * (item 9). Everything random comes from one seed, printed by the tests, so a failure can be replayed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { imagesDir } from '../../helpers/paths';

export const photosDir = join(imagesDir, 'photos');

/** mulberry32: a small seeded PRNG; good enough to pick mutations reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBuffer(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

let freshCounter = 0;
/** A shared photo with a unique tail after its end marker: decoders ignore it, the sha256 changes. */
export function freshPhoto(name = '320x240.jpg'): Buffer {
  const tail = Buffer.from(`#${process.pid}-${Date.now()}-${freshCounter++}-${Math.random()}`);
  return Buffer.concat([readFileSync(join(photosDir, name)), tail]);
}

/** Small photos (under 150 kB) in a stable order, to vary the work without big uploads. */
export const smallPhotos: string[] = readdirSync(photosDir)
  .filter((f) => statSync(join(photosDir, f)).size < 150_000)
  .sort();

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A PNG whose header declares width x height RGB, with a few kB of compressed rows. */
export function hugePng(width = 30_000, height = 30_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(256 * 1024), { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const u16 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff];
/** LZW data of a 1x1 image with a 2-bit code size: clear, pixel 0, end. */
const ONE_PIXEL_LZW = [0x02, 0x02, 0x44, 0x01, 0x00];

function gif(width: number, height: number, frames: number[][]): Buffer {
  return Buffer.from([
    ...Buffer.from('GIF89a', 'latin1'),
    ...u16(width),
    ...u16(height),
    0x80, // global colour table of 2 entries
    0,
    0,
    ...[0, 0, 0, 255, 255, 255],
    // NETSCAPE2.0 loop extension: an animation
    ...[0x21, 0xff, 0x0b, ...Buffer.from('NETSCAPE2.0', 'latin1'), 0x03, 0x01, 0x00, 0x00, 0x00],
    ...frames.flat(),
    0x3b,
  ]);
}

/** A GIF whose screen and only frame declare width x height, in a few dozen bytes. */
export function hugeGif(width = 30_000, height = 30_000): Buffer {
  return gif(width, height, [[0x2c, 0, 0, 0, 0, ...u16(width), ...u16(height), 0, ...ONE_PIXEL_LZW]]);
}

/** An animated GIF of `count` 1x1 frames, each with a graphic control extension. */
export function manyFrameGif(count = 1000): Buffer {
  const frame = [0x21, 0xf9, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0];
  return gif(
    1,
    1,
    Array.from({ length: count }, () => [...frame, ...ONE_PIXEL_LZW]),
  );
}

/** A JPEG segment (marker + big-endian length + payload). */
function segment(marker: number, payload: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([head, payload]);
}

const HTML = '<html><body><script>alert(document.cookie)</script></body></html>';

/** SOI followed by HTML: sniffs as JPEG, is not one. */
export function fakeJpegHtml(): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(HTML)]);
}

/** A valid JPEG that is also an HTML document to a sniffing browser (HTML in a comment and after EOI). */
export function polyglotJpegHtml(): Buffer {
  const jpeg = readFileSync(join(photosDir, 'concert.jpg'));
  return Buffer.concat([
    jpeg.subarray(0, 2),
    segment(0xfe, Buffer.from(HTML)),
    jpeg.subarray(2),
    Buffer.from(HTML),
  ]);
}

export const POLYGLOT_MARKER = 'alert(document.cookie)';

/** A valid JPEG with an APP1 EXIF block whose TIFF structure points far outside itself. */
export function corruptExifJpeg(): Buffer {
  const jpeg = readFileSync(join(photosDir, 'concert.jpg'));
  const tiff = Buffer.alloc(64, 0xff);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(0x7ffffff0, 4); // first IFD offset far beyond the block
  tiff.writeUInt16BE(0xffff, 8); // and an entry count no block could hold
  const exif = segment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]));
  return Buffer.concat([jpeg.subarray(0, 2), exif, jpeg.subarray(2)]);
}

/** Offsets of the width/height fields in a PNG or baseline/progressive JPEG header, if found. */
function dimensionFields(b: Buffer): number[] {
  if (b.subarray(1, 4).toString('latin1') === 'PNG') return [16, 18, 20, 22];
  for (let i = 2; i + 9 < b.length; i++) {
    if (b[i] === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2)) return [i + 5, i + 6, i + 7, i + 8];
  }
  return [];
}

/** The fuzz corpus: small photos and every raster of shared/images/formats under 300 kB. */
export function fuzzSources(): Buffer[] {
  const formats = join(imagesDir, 'formats');
  const fromFormats = readdirSync(formats)
    .filter((f) => !f.endsWith('.svg') && statSync(join(formats, f)).size < 300_000)
    .sort()
    .map((f) => readFileSync(join(formats, f)));
  return [...smallPhotos.map((f) => readFileSync(join(photosDir, f))), ...fromFormats];
}

export type Mutation = (b: Buffer, rand: () => number) => Buffer;

const pick = (rand: () => number, n: number): number => Math.floor(rand() * n);

/** Byte-level mutations in the spirit of AFL's havoc stage, plus header dimension edits. */
export const MUTATIONS: Record<string, Mutation> = {
  flipBits: (b, r) => {
    const out = Buffer.from(b);
    for (let i = 1 + pick(r, 32); i > 0; i--) out[pick(r, out.length)] ^= 1 << pick(r, 8);
    return out;
  },
  overwriteRun: (b, r) => {
    const out = Buffer.from(b);
    const at = pick(r, out.length);
    randomBuffer(r, Math.min(1 + pick(r, 256), out.length - at)).copy(out, at);
    return out;
  },
  truncate: (b, r) => b.subarray(0, 1 + pick(r, b.length - 1)),
  insertRandom: (b, r) => {
    const at = pick(r, b.length);
    return Buffer.concat([b.subarray(0, at), randomBuffer(r, 1 + pick(r, 512)), b.subarray(at)]);
  },
  duplicateSlice: (b, r) => {
    const from = pick(r, b.length);
    const slice = b.subarray(from, from + 1 + pick(r, 4096));
    const at = pick(r, b.length);
    return Buffer.concat([b.subarray(0, at), slice, b.subarray(at)]);
  },
  deleteSlice: (b, r) => {
    const from = pick(r, b.length);
    return Buffer.concat([b.subarray(0, from), b.subarray(from + 1 + pick(r, 4096))]);
  },
  headerDimensions: (b, r) => {
    const out = Buffer.from(b);
    const fields = dimensionFields(out);
    for (const at of fields) out[at] = pick(r, 256);
    return out;
  },
  zeroRegion: (b, r) => {
    const out = Buffer.from(b);
    const at = pick(r, out.length);
    out.fill(0, at, Math.min(out.length, at + 1 + pick(r, 8192)));
    return out;
  },
};

const NAMES = Object.keys(MUTATIONS);

/** One fuzz case: a source and 1-3 mutations, all chosen by `rand`. */
export function mutate(sources: Buffer[], rand: () => number): { bytes: Buffer; recipe: string } {
  let bytes = sources[pick(rand, sources.length)];
  const steps: string[] = [];
  for (let n = 1 + pick(rand, 3); n > 0; n--) {
    const name = NAMES[pick(rand, NAMES.length)];
    bytes = MUTATIONS[name](bytes.length > 0 ? bytes : Buffer.from([0]), rand);
    steps.push(name);
  }
  return { bytes, recipe: steps.join('+') };
}

/**
 * `npm run bench:decode-memory`: peak memory of one image decode against its admission estimate
 * (issue 12, finding 8). Makes 7000x7000 images in several formats with sharp, then decodes each in a
 * fresh Node process (decodeImage, as the API does) and reads VmHWM from /proc/self/status: the peak
 * minus the RSS before is what the decode cost. Prints one line per image; figures for docs/reliability.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImage, estimateDecodeBytes, probeImage } from '../src/image/decode-image';

const SIDE = 7000;
const LIMITS = { maxPixels: 50_000_000, maxFrames: 64 };

function status(field: string): number {
  const text = readFileSync('/proc/self/status', 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN) / 1024;
}

/** Child mode: decode one file, print {before, peak, estimate} in MiB. */
async function one(file: string): Promise<void> {
  const bytes = readFileSync(file);
  const estimate = estimateDecodeBytes(await probeImage(bytes, LIMITS)) / (1024 * 1024);
  const before = status('VmRSS');
  await decodeImage(bytes, 384, LIMITS);
  process.stdout.write(JSON.stringify({ before, peak: status('VmHWM'), estimate }));
  process.exit(0);
}

async function images(dir: string): Promise<[string, string][]> {
  const rgb = () => sharp({ create: { width: SIDE, height: SIDE, channels: 3, background: '#5a8cc8' } });
  const rgba = () =>
    sharp({
      create: { width: SIDE, height: SIDE, channels: 4, background: { r: 90, g: 140, b: 200, alpha: 0.5 } },
    });
  const made: [string, Buffer][] = [
    ['PNG, RGB 8-bit', await rgb().png().toBuffer()],
    ['TIFF (deflate), RGB 8-bit', await rgb().tiff({ compression: 'deflate' }).toBuffer()],
    ['JPEG baseline', await rgb().jpeg().toBuffer()],
    ['PNG interlaced', await rgb().png({ progressive: true }).toBuffer()],
    [
      'JPEG progressive, EXIF orientation 6',
      await rgb().jpeg({ progressive: true }).withMetadata({ orientation: 6 }).toBuffer(),
    ],
    ['PNG 16-bit RGBA', await rgba().toColourspace('rgb16').png().toBuffer()],
  ];
  return made.map(([name, bytes], i) => {
    const file = join(dir, `${i}.img`);
    writeFileSync(file, bytes);
    return [name, file];
  });
}

async function main(): Promise<void> {
  if (process.argv[2] === '--one') return one(process.argv[3]);
  const dir = mkdtempSync(join(tmpdir(), 'decode-memory-'));
  try {
    for (const [name, file] of await images(dir)) {
      const run = spawnSync(process.execPath, [__filename, '--one', file], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`${name}: ${run.stderr}`);
      const r = JSON.parse(run.stdout) as { before: number; peak: number; estimate: number };
      console.log(
        `${name}: ${SIDE}x${SIDE}, decode peak ${(r.peak - r.before).toFixed(0)} MiB over RSS ${r.before.toFixed(0)} MiB; admitted as ${r.estimate.toFixed(0)} MiB`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();

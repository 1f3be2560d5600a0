/**
 * Benchmark inputs: the photos of ../shared/images/photos re-encoded once (EXIF orientation applied,
 * metadata stripped, so both systems see the same pixels whatever their EXIF handling), then made unique
 * per request with a nonce in a JPEG comment segment (bytes differ, pixels do not: every request is a
 * cache miss and the same photo still gets the same caption). Multipart bodies are built by hand so
 * both systems receive identical bytes.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

export interface Photo {
  name: string;
  jpeg: Buffer;
  width: number;
  height: number;
}

export async function loadPhotos(dir: string, limit?: number): Promise<Photo[]> {
  const names = readdirSync(dir)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort();
  const photos: Photo[] = [];
  for (const name of names.slice(0, limit ?? names.length)) {
    const { data, info } = await sharp(readFileSync(join(dir, name)))
      .rotate()
      .jpeg({ quality: 90 })
      .toBuffer({ resolveWithObject: true });
    photos.push({ name, jpeg: data, width: info.width, height: info.height });
  }
  return photos;
}

/** The JPEG with a COM segment carrying `nonce` inserted right after SOI. */
export function withNonce(jpeg: Buffer, nonce: string): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG');
  const text = Buffer.from(`bench-nonce:${nonce}`, 'latin1');
  const segment = Buffer.alloc(4 + text.length);
  segment[0] = 0xff;
  segment[1] = 0xfe;
  segment.writeUInt16BE(text.length + 2, 2);
  text.copy(segment, 4);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

let counter = 0;
export function nonce(): string {
  counter += 1;
  return `${Date.now().toString(36)}-${counter}-${randomBytes(6).toString('hex')}`;
}

export interface Multipart {
  body: Buffer;
  contentType: string;
}

/** multipart/form-data with the file field `image` and plain text fields. */
export function multipart(image: Buffer, fields: Record<string, string> = {}): Multipart {
  const boundary = `----captioner-bench-${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
    );
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="image.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    image,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

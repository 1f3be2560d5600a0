/**
 * Pulls a published bundle from a BundleSource into a local cache directory, one sub-directory per
 * version: each file is written under a temporary name while its sha256 is computed, compared with the
 * manifest, then renamed into place; manifest.json is written last, so a directory with a manifest is a
 * complete, verified bundle. A version already in the cache is re-verified and not downloaded again; a
 * file that does not match (cut, corrupt, tampered) is refused naming it, deleted, and never loaded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ModelError, ModelErrorCode } from '../model.errors';
import { BundleSourceError, type BundleSource } from './bundle-source.port';
import { parseManifest, sha256File, verifyBundleFiles, type Manifest } from './manifest';

const MANIFEST = 'manifest.json';
const MAX_MANIFEST_BYTES = 1 << 20;
const ATTEMPTS = 3;
const PROGRESS_EVERY_MS = 5000;
const VERSION_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export interface PulledBundle {
  dir: string;
  version: string;
  /** Files downloaded by this pull (0: the cache already held the version). */
  downloaded: number;
  downloadedBytes: number;
}

export interface BundleCacheOptions {
  log: (message: string) => void;
  /** Pause before retry n (1-based) of a file after a transient failure; tests pass 0. */
  retryDelayMs?: (attempt: number) => number;
}

function refused(source: BundleSource, message: string, cause?: unknown): ModelError {
  return new ModelError(ModelErrorCode.BundleInvalid, `Model bundle ${source.uri}: ${message}`, { cause });
}

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

/** The file names of a manifest, checked: relative, inside the bundle, with a sha256 and a size. */
export function bundleFiles(
  manifest: Manifest,
  where: string,
): [string, { sha256: string; bytes: number }][] {
  const entries = Object.entries(manifest.files).sort(([a], [b]) => a.localeCompare(b));
  for (const [name, entry] of entries) {
    const parts = name.split('/');
    if (name === MANIFEST || name.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..'))
      throw new ModelError(
        ModelErrorCode.BundleInvalid,
        `Model bundle ${where}: bad file name in manifest: ${name}`,
      );
    if (!SHA256_PATTERN.test(String(entry?.sha256)) || !Number.isSafeInteger(entry?.bytes) || entry.bytes < 0)
      throw new ModelError(
        ModelErrorCode.BundleInvalid,
        `Model bundle ${where}: bad manifest entry for ${name}`,
      );
  }
  return entries;
}

export class BundleCache {
  constructor(
    private readonly root: string,
    private readonly options: BundleCacheOptions,
  ) {}

  /** Makes `<root>/<version>` a verified copy of the bundle at `source`; returns its directory. */
  async pull(source: BundleSource, expectedVersion?: string): Promise<PulledBundle> {
    const manifestBytes = await this.readManifest(source);
    const manifest = parseManifest(manifestBytes.toString('utf8'), source.uri);
    if (typeof manifest.version !== 'string' || !VERSION_PATTERN.test(manifest.version))
      throw refused(source, `manifest.json has an unusable version ${JSON.stringify(manifest.version)}`);
    if (expectedVersion !== undefined && manifest.version !== expectedVersion)
      throw refused(
        source,
        `manifest.json says version ${manifest.version}, the URI says ${expectedVersion}`,
      );
    const files = bundleFiles(manifest, source.uri);
    const dir = join(resolve(this.root), manifest.version);
    const total = files.reduce((n, [, f]) => n + f.bytes, 0);

    if (await this.holds(dir, manifestBytes, manifest)) {
      this.options.log(
        `model bundle ${manifest.version} already in ${dir} (verified, ${mb(total)}): no download`,
      );
      return { dir, version: manifest.version, downloaded: 0, downloadedBytes: 0 };
    }
    this.options.log(
      `pulling model bundle ${manifest.version} from ${source.uri} into ${dir} (${files.length} files, ${mb(total)})`,
    );
    const started = Date.now();
    let downloaded = 0;
    let downloadedBytes = 0;
    let done = 0;
    for (const [name, expected] of files) {
      const path = join(dir, name);
      done += expected.bytes;
      if (await matches(path, expected)) continue;
      await mkdir(dirname(path), { recursive: true });
      await this.downloadWithRetries(source, name, path, expected);
      downloaded++;
      downloadedBytes += expected.bytes;
      this.options.log(
        `${name}: ${mb(expected.bytes)} verified (bundle ${Math.floor((100 * done) / Math.max(1, total))}% done)`,
      );
    }
    await writeAtomically(join(dir, MANIFEST), manifestBytes);
    const seconds = (Date.now() - started) / 1000;
    this.options.log(
      `model bundle ${manifest.version} pulled and verified: ${downloaded} files, ${mb(downloadedBytes)} in ${seconds.toFixed(1)} s`,
    );
    return { dir, version: manifest.version, downloaded, downloadedBytes };
  }

  private async readManifest(source: BundleSource): Promise<Buffer> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.readManifestOnce(source);
      } catch (err) {
        const transient = err instanceof BundleSourceError && err.failure === 'unavailable';
        if (!transient || attempt >= ATTEMPTS)
          throw err instanceof ModelError
            ? err
            : refused(source, `manifest.json cannot be read: ${(err as Error).message}`, err);
        await this.pause('manifest.json', err, attempt);
      }
    }
  }

  private async readManifestOnce(source: BundleSource): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    const { body } = await source.open(MANIFEST);
    try {
      for await (const chunk of body) {
        size += (chunk as Buffer).length;
        if (size > MAX_MANIFEST_BYTES) {
          body.destroy();
          throw refused(source, `manifest.json is larger than ${MAX_MANIFEST_BYTES} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      if (err instanceof ModelError) throw err;
      throw new BundleSourceError('unavailable', `manifest.json cut: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return Buffer.concat(chunks);
  }

  private async pause(name: string, err: unknown, attempt: number): Promise<void> {
    const delay = this.options.retryDelayMs?.(attempt) ?? 1000 * 2 ** (attempt - 1);
    this.options.log(`${name}: ${(err as Error).message}; retry ${attempt} in ${delay} ms`);
    await new Promise((r) => setTimeout(r, delay));
  }

  /** True when dir holds this exact manifest and every file matches it (hashes checked). */
  private async holds(dir: string, manifestBytes: Buffer, manifest: Manifest): Promise<boolean> {
    let local: Buffer;
    try {
      local = await readFile(join(dir, MANIFEST));
    } catch {
      return false;
    }
    if (!local.equals(manifestBytes)) {
      this.options.log(`the cached manifest in ${dir} differs from the source's: pulling again`);
    } else {
      try {
        await verifyBundleFiles(dir, manifest);
        return true;
      } catch (err) {
        this.options.log(`cached bundle in ${dir} fails verification (${(err as Error).message}): repairing`);
      }
    }
    // No longer a complete bundle until the pull writes the manifest again.
    await rm(join(dir, MANIFEST), { force: true });
    return false;
  }

  private async downloadWithRetries(
    source: BundleSource,
    name: string,
    path: string,
    expected: { sha256: string; bytes: number },
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.download(source, name, path, expected);
        return;
      } catch (err) {
        const transient = err instanceof BundleSourceError && err.failure === 'unavailable';
        if (!transient || attempt >= ATTEMPTS) {
          if (err instanceof ModelError) throw err;
          throw refused(source, `file ${name} cannot be downloaded: ${(err as Error).message}`, err);
        }
        await this.pause(`file ${name}`, err, attempt);
      }
    }
  }

  private async download(
    source: BundleSource,
    name: string,
    path: string,
    expected: { sha256: string; bytes: number },
  ): Promise<void> {
    const temp = `${path}.partial-${randomBytes(6).toString('hex')}`;
    const hash = createHash('sha256');
    let received = 0;
    let lastLog = Date.now();
    const log = this.options.log;
    try {
      const { body } = await source.open(name);
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done): void {
          received += chunk.length;
          if (received > expected.bytes) {
            done(refused(source, `file ${name} refused: larger than the manifest's ${expected.bytes} bytes`));
            return;
          }
          hash.update(chunk);
          if (Date.now() - lastLog >= PROGRESS_EVERY_MS) {
            lastLog = Date.now();
            log(
              `${name}: ${mb(received)} of ${mb(expected.bytes)} (${Math.floor((100 * received) / Math.max(1, expected.bytes))}%)`,
            );
          }
          done(null, chunk);
        },
      });
      try {
        await pipeline(body, meter, createWriteStream(temp, { flags: 'wx' }));
      } catch (err) {
        if (err instanceof ModelError) throw err;
        throw new BundleSourceError(
          'unavailable',
          `file ${name} cut after ${received} bytes: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      if (received !== expected.bytes)
        throw new BundleSourceError(
          'unavailable',
          `file ${name} is incomplete: ${received} bytes, the manifest says ${expected.bytes}`,
        );
      const actual = hash.digest('hex');
      if (actual !== expected.sha256)
        throw refused(
          source,
          `file ${name} refused: sha256 ${actual} does not match the manifest (corrupt or tampered)`,
        );
      await rename(temp, path);
    } finally {
      await rm(temp, { force: true });
    }
  }
}

async function matches(path: string, expected: { sha256: string; bytes: number }): Promise<boolean> {
  try {
    if ((await stat(path)).size !== expected.bytes) return false;
  } catch {
    return false;
  }
  return (await sha256File(path)) === expected.sha256;
}

async function writeAtomically(path: string, bytes: Buffer): Promise<void> {
  const temp = `${path}.partial-${randomBytes(6).toString('hex')}`;
  await writeFile(temp, bytes, { flag: 'wx' });
  await rename(temp, path);
}

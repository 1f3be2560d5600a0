/**
 * Model bundles pulled over HTTP(S) from a real server on loopback and from a directory (file://): the
 * same cache contract as S3 (bundle-s3.test.ts): verified pull, no download on a cached restart, a
 * corrupt or missing file refused by name; and which MODEL_URI values the settings accept.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadSettings } from '../../../src/config/load-settings';
import { BundleCache } from '../../../src/model/bundle/bundle-cache';
import { createBundleSource, versionInUri } from '../../../src/model/bundle/bundle-source.factory';
import { ModelError, ModelErrorCode } from '../../../src/model/model.errors';
import { ModelSettings } from '../../../src/model/model.settings';
import { BlipRuntime } from '../../../src/model/blip-runtime';
import { tinyModelPath } from '../../helpers/paths';

const bundle = tinyModelPath();
const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as {
  version: string;
  files: Record<string, { sha256: string; bytes: number }>;
};
const fileCount = Object.keys(manifest.files).length;
const served = mkdtempSync(join(tmpdir(), 'captioner-served-'));
const temps: string[] = [served];
const requests: string[] = [];
let server: Server;
let base: string;

const tempDir = (name: string): string => {
  const dir = mkdtempSync(join(tmpdir(), `captioner-${name}-`));
  temps.push(dir);
  return dir;
};
/** As ModelBundleService pulls MODEL_URI. */
const pull = (root: string, uri: string) =>
  new BundleCache(root, { log: () => undefined, retryDelayMs: () => 0 }).pull(
    createBundleSource(uri, { forcePathStyle: false }),
    versionInUri(uri),
  );
const refusal = (file: string, words: RegExp) => (err: unknown) =>
  err instanceof ModelError &&
  err.code === ModelErrorCode.BundleInvalid &&
  err.message.includes(file) &&
  words.test(err.message);

before(async () => {
  cpSync(bundle, join(served, 'good'), { recursive: true });
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const path = join(served, decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/'));
    if (!path.startsWith(served) || !existsSync(path)) {
      res.writeHead(404).end('not found');
      return;
    }
    const body = readFileSync(path);
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});

after(async () => {
  await new Promise((r) => server.close(r));
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

test('an http(s) bundle is pulled, verified and loads; a cached restart asks only for the manifest', async () => {
  const root = tempDir('cache-http');
  const start = requests.length;
  const first = await pull(root, `${base}/good/`);
  assert.equal(first.downloaded, fileCount);
  assert.equal(requests.length - start, fileCount + 1);
  const runtime = await BlipRuntime.load(first.dir, {
    variant: 'fp32',
    executionProvider: 'cpu',
    intraOpThreads: 1,
    interOpThreads: 1,
  });
  assert.equal(runtime.info().version, manifest.version);
  await runtime.release();
  const again = requests.length;
  const second = await pull(root, `${base}/good/`);
  assert.equal(second.downloaded, 0);
  assert.deepEqual(requests.slice(again), ['/good/manifest.json']);
});

test('a file served with other bytes is refused naming it; nothing loadable is left', async () => {
  const dir = join(served, 'tampered');
  cpSync(bundle, dir, { recursive: true });
  const vocab = readFileSync(join(dir, 'vocab.txt'));
  vocab[0] = (vocab[0] ?? 0) ^ 1;
  writeFileSync(join(dir, 'vocab.txt'), vocab);
  const root = tempDir('cache-tampered');
  await assert.rejects(pull(root, `${base}/tampered/`), refusal('vocab.txt', /does not match the manifest/));
  assert.equal(existsSync(join(root, manifest.version, 'manifest.json')), false);
  assert.equal(existsSync(join(root, manifest.version, 'vocab.txt')), false);
});

test('a file the server does not have, or cuts short, is refused naming it', async () => {
  const dir = join(served, 'partial');
  cpSync(bundle, dir, { recursive: true });
  rmSync(join(dir, 'text_decoder.onnx'));
  const short = readFileSync(join(dir, 'tokenizer.json'));
  writeFileSync(join(dir, 'tokenizer.json'), short.subarray(0, short.length - 10));
  const root = tempDir('cache-partial');
  await assert.rejects(pull(root, `${base}/partial/`), refusal('text_decoder.onnx', /HTTP 404/));
  writeFileSync(join(dir, 'text_decoder.onnx'), readFileSync(join(bundle, 'text_decoder.onnx')));
  await assert.rejects(pull(root, `${base}/partial/`), refusal('tokenizer.json', /incomplete/));
  assert.equal(existsSync(join(root, manifest.version, 'manifest.json')), false);
});

test('a manifest whose version is not the one the URI names is refused', async () => {
  const root = tempDir('cache-version');
  const other = join(served, '0123456789abcdef');
  cpSync(bundle, other, { recursive: true });
  await assert.rejects(pull(root, `${base}/0123456789abcdef/`), refusal('manifest.json', /the URI says/));
});

test('a file:// bundle (a shared volume) is copied and verified the same way', async () => {
  const root = tempDir('cache-file');
  const pulled = await pull(root, pathToFileURL(bundle).href);
  assert.equal(pulled.downloaded, fileCount);
  assert.equal((await pull(root, pathToFileURL(bundle).href)).downloaded, 0);
});

test('MODEL_URI accepts s3, https, file and loopback http, and refuses the rest naming the variable', () => {
  for (const ok of [
    's3://my-bucket/captioner/0123456789abcdef/',
    'https://models.example.com/blip/',
    'file:///mnt/bundles/v1/',
    'http://127.0.0.1:8080/b/',
  ])
    assert.equal(loadSettings(ModelSettings, { MODEL_URI: ok }).MODEL_URI, ok);
  for (const bad of ['http://models.example.com/blip/', 'ftp://x/y', 's3://', '/models/blip'])
    assert.throws(
      () => loadSettings(ModelSettings, { MODEL_URI: bad }),
      (err: unknown) => err instanceof ConfigError && err.variables.includes('MODEL_URI'),
      bad,
    );
});

/**
 * Model bundles published to and pulled from a real S3 API on loopback (moto, IAM authentication on):
 * publish (manifest last, idempotent), pull through MODEL_URI into the cache and load the real tiny model,
 * a cached restart without download, and the refusals: a corrupted object, a missing object, wrong
 * credentials, each naming the file and leaving nothing loadable behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { BundleCache } from '../../../src/model/bundle/bundle-cache';
import type { BundleSource } from '../../../src/model/bundle/bundle-source.port';
import { ModelBundleService } from '../../../src/model/bundle/model-bundle.service';
import { S3BundlePublisher } from '../../../src/model/bundle/s3-bundle-publisher';
import { S3BundleSource } from '../../../src/model/bundle/s3-bundle-source.adapter';
import { parseS3Uri } from '../../../src/model/bundle/s3-location';
import { ModelError, ModelErrorCode } from '../../../src/model/model.errors';
import { ModelSettings } from '../../../src/model/model.settings';
import { OnnxBlipModel } from '../../../src/model/onnx-blip.model';
import { MotoS3, motoOrSkip } from '../../helpers/moto';
import { tinyModelPath } from '../../helpers/paths';

let skip: string | undefined;
let moto: MotoS3;
let publisher: S3Client;
const bundle = tinyModelPath();
const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as {
  version: string;
  files: Record<string, { sha256: string; bytes: number }>;
};
const fileCount = Object.keys(manifest.files).length;
const temps: string[] = [];
const logs: string[] = [];

function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `captioner-${name}-`));
  temps.push(dir);
  return dir;
}

const location = (uri: string) => parseS3Uri(uri) ?? assert.fail(`not an s3 URI: ${uri}`);
const cache = (root: string): BundleCache =>
  new BundleCache(root, { log: (m) => logs.push(m), retryDelayMs: () => 0 });

async function publish(prefix: string, client = publisher, dir = bundle) {
  const to = location(`s3://${moto.bucket}/${prefix}/`);
  return new S3BundlePublisher(client, (m) => logs.push(m)).publish(dir, to);
}

async function keys(prefix: string): Promise<string[]> {
  const out = await publisher.send(new ListObjectsV2Command({ Bucket: moto.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
}

/** Counts the files each pull asks the source for. */
function counting(source: BundleSource): BundleSource & { opened: string[] } {
  const opened: string[] = [];
  return { uri: source.uri, opened, open: (name) => (opened.push(name), source.open(name)) };
}

const refusal = (file: string, words: RegExp) => (err: unknown) =>
  err instanceof ModelError &&
  err.code === ModelErrorCode.BundleInvalid &&
  err.message.includes(file) &&
  words.test(err.message);

/** Nothing loadable and no temporary file is left in the cache after a refused pull. */
function assertNothingLoadable(root: string, file: string): void {
  const dir = join(root, manifest.version);
  assert.equal(existsSync(join(dir, 'manifest.json')), false, 'a refused bundle has a manifest in the cache');
  assert.equal(existsSync(join(dir, file)), false, `the refused ${file} is in the cache`);
  const left = existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];
  assert.deepEqual(
    left.filter((f) => f.includes('.partial-')),
    [],
    'temporary files left behind',
  );
}

before(async () => {
  skip = motoOrSkip();
  if (skip !== undefined) return;
  moto = await MotoS3.start();
  publisher = moto.client('publisher');
});

after(async () => {
  publisher?.destroy();
  await moto?.stop();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

test('publish uploads every file under the version, then the manifest; re-publishing uploads nothing', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const first = await publish('blip');
  assert.equal(first.uri, `s3://${moto.bucket}/blip/${manifest.version}/`);
  assert.equal(first.uploaded, fileCount + 1);
  const expected = [...Object.keys(manifest.files), 'manifest.json']
    .map((f) => `blip/${manifest.version}/${f}`)
    .sort();
  assert.deepEqual(await keys('blip/'), expected);
  const again = await publish('blip');
  assert.deepEqual([again.uploaded, again.skipped], [0, fileCount + 1]);
});

test('publish refuses a bundle that does not match its manifest, before uploading anything', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const dir = tempDir('altered');
  cpSync(bundle, dir, { recursive: true });
  appendFileSync(join(dir, 'vocab.txt'), 'x');
  await assert.rejects(publish('altered', publisher, dir), refusal('vocab.txt', /altered/));
  assert.deepEqual(await keys('altered/'), []);
});

test('the manifest goes last: a publish stopped at the manifest leaves a version no worker can pull', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const client = moto.client('nomanifest');
  try {
    await assert.rejects(publish('half', client), /manifest\.json: access denied/);
  } finally {
    client.destroy();
  }
  const uploaded = await keys('half/');
  assert.equal(uploaded.length, fileCount, 'every file but the manifest was uploaded first');
  assert.ok(!uploaded.some((k) => k.endsWith('/manifest.json')));
  const root = tempDir('cache-half');
  const reader = moto.client('reader');
  try {
    const source = new S3BundleSource(reader, location(`s3://${moto.bucket}/half/${manifest.version}/`));
    await assert.rejects(cache(root).pull(source), refusal('manifest.json', /does not exist/));
  } finally {
    reader.destroy();
  }
  assertNothingLoadable(root, 'vocab.txt');
});

test('MODEL_URI on S3: the worker pulls with the default credential chain, verifies, loads and captions; a restart does not download again', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const { uri } = await publish('blip');
  const root = tempDir('cache-s3');
  const names = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL'] as const;
  const saved = names.map((n) => process.env[n]);
  const reader = moto.users.reader;
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: reader.accessKeyId,
    AWS_SECRET_ACCESS_KEY: reader.secretAccessKey,
    AWS_ENDPOINT_URL: moto.endpoint,
  });
  const settings = Object.assign(new ModelSettings(), {
    MODEL_PATH: '/nonexistent',
    MODEL_URI: uri,
    MODEL_CACHE_DIR: root,
    MODEL_S3_FORCE_PATH_STYLE: true,
    MODEL_WARMUP: false,
  });
  const prefix = `/${moto.bucket}/blip/${manifest.version}/`;
  try {
    await moto.settle();
    const before = moto.requests('GET', prefix).length;
    const model = new OnnxBlipModel(settings, new ModelBundleService(settings));
    await model.onModuleInit();
    try {
      assert.equal(model.info().version, manifest.version);
      const size = model.info().imageSize;
      const [captions] = await model.caption([
        {
          image: { rgb: new Uint8Array(size * size * 3).fill(90), size, width: size, height: size },
          options: {},
        },
      ]);
      assert.ok((captions?.[0]?.text.length ?? 0) > 0, 'no caption from the pulled bundle');
    } finally {
      await model.onModuleDestroy();
    }
    await moto.settle();
    const firstPull = moto.requests('GET', prefix).length - before;
    assert.equal(firstPull, fileCount + 1, 'the first start downloads every file and the manifest');
    for (const [name, f] of Object.entries(manifest.files))
      assert.equal(readFileSync(join(root, manifest.version, name)).length, f.bytes, name);

    const restarted = new OnnxBlipModel(settings, new ModelBundleService(settings));
    await restarted.onModuleInit();
    await restarted.onModuleDestroy();
    await moto.settle();
    const secondPull = moto.requests('GET', prefix).slice(before + firstPull);
    assert.equal(secondPull.length, 1, `a cached restart reads only the manifest:\n${secondPull.join('\n')}`);
    assert.match(secondPull[0] ?? '', /manifest\.json/);
  } finally {
    names.forEach((n, i) => {
      if (saved[i] === undefined) delete process.env[n];
      else process.env[n] = saved[i];
    });
  }
});

test('a cached file altered on disk is found at the next start and only that file is downloaded again', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const { uri } = await publish('blip');
  const root = tempDir('cache-repair');
  const reader = moto.client('reader');
  try {
    const source = () => counting(new S3BundleSource(reader, location(uri)));
    const first = await cache(root).pull(source());
    assert.equal(first.downloaded, fileCount);
    appendFileSync(join(root, manifest.version, 'tokenizer.json'), ' ');
    const src = source();
    const second = await cache(root).pull(src);
    assert.equal(second.downloaded, 1);
    assert.deepEqual(src.opened, ['manifest.json', 'tokenizer.json']);
    const third = source();
    assert.equal((await cache(root).pull(third)).downloaded, 0);
    assert.deepEqual(third.opened, ['manifest.json']);
  } finally {
    reader.destroy();
  }
});

test('a corrupted object is refused naming the file, and nothing of it is kept', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const { uri } = await publish('corrupt');
  const key = `corrupt/${manifest.version}/text_decoder.onnx`;
  const bytes = readFileSync(join(bundle, 'text_decoder.onnx'));
  bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff; // same size, one byte flipped
  await publisher.send(new PutObjectCommand({ Bucket: moto.bucket, Key: key, Body: bytes }));
  const root = tempDir('cache-corrupt');
  const reader = moto.client('reader');
  try {
    await assert.rejects(
      cache(root).pull(new S3BundleSource(reader, location(uri))),
      refusal('text_decoder.onnx', /sha256 [0-9a-f]{64} does not match the manifest/),
    );
  } finally {
    reader.destroy();
  }
  assertNothingLoadable(root, 'text_decoder.onnx');
});

test('a missing object is refused naming the file', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const { uri } = await publish('missing');
  await publisher.send(
    new DeleteObjectCommand({ Bucket: moto.bucket, Key: `missing/${manifest.version}/vocab.txt` }),
  );
  const root = tempDir('cache-missing');
  const reader = moto.client('reader');
  try {
    await assert.rejects(
      cache(root).pull(new S3BundleSource(reader, location(uri))),
      refusal('vocab.txt', /does not exist/),
    );
  } finally {
    reader.destroy();
  }
  assertNothingLoadable(root, 'vocab.txt');
});

test('wrong credentials are refused as access denied, naming the object', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const { uri } = await publish('blip');
  const root = tempDir('cache-denied');
  for (const keys of [
    { accessKeyId: moto.users.reader.accessKeyId, secretAccessKey: 'not-the-secret' },
    { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'whatever' },
  ]) {
    const client = moto.client(keys);
    try {
      await assert.rejects(
        cache(root).pull(new S3BundleSource(client, location(uri))),
        refusal('manifest.json', /access denied/),
      );
    } finally {
      client.destroy();
    }
  }
  // The workers' read-only policy cannot publish.
  const reader = moto.client('reader');
  try {
    await assert.rejects(publish('by-reader', reader), /access denied/);
  } finally {
    reader.destroy();
  }
  assert.deepEqual(await keys('by-reader/'), []);
  assert.equal(existsSync(join(root, manifest.version)), false);
});

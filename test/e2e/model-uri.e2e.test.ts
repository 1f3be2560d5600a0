/**
 * MODEL_URI end to end: a worker process and an embedded API process pull the tiny bundle from moto's S3
 * server on loopback with the read-only role's keys (the AWS SDK's environment credentials and
 * AWS_ENDPOINT_URL), become ready only once it is verified and loaded, start again from the cache without
 * downloading, and refuse to start on a corrupted object, naming it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3BundlePublisher } from '../../src/model/bundle/s3-bundle-publisher';
import { MotoS3, motoOrSkip } from '../helpers/moto';
import { tinyModelPath } from '../helpers/paths';
import { baseEnv, startApi, startWorker, type Env, type ServiceProcess } from '../helpers/processes';
import { PrivateRedis } from '../helpers/redis';
import { bearer } from '../helpers/tokens';

let skip: string | undefined;
let moto: MotoS3;
let publisher: S3Client;
let redis: PrivateRedis;
const temps: string[] = [];
const running: ServiceProcess[] = [];
const bundle = tinyModelPath();
const version = (JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as { version: string })
  .version;

async function publish(prefix: string): Promise<string> {
  const to = { bucket: moto.bucket, prefix: `${prefix}/` };
  return (await new S3BundlePublisher(publisher, () => undefined).publish(bundle, to)).uri;
}

function env(uri: string, cacheDir: string, extra: Env = {}): Env {
  return baseEnv({
    MODEL_PATH: undefined,
    MODEL_URI: uri,
    MODEL_CACHE_DIR: cacheDir,
    MODEL_S3_FORCE_PATH_STYLE: 'true',
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ACCESS_KEY_ID: moto.users.reader.accessKeyId,
    AWS_SECRET_ACCESS_KEY: moto.users.reader.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  });
}

before(async () => {
  skip = motoOrSkip();
  if (skip !== undefined) return;
  moto = await MotoS3.start();
  publisher = moto.client('publisher');
  redis = await PrivateRedis.start();
});

after(async () => {
  for (const p of running) await p.stop('SIGKILL');
  publisher?.destroy();
  await moto?.stop();
  await redis?.destroy();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

test('a worker pulls its bundle from S3, turns ready once it is loaded, and restarts from its cache', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const uri = await publish('workers');
  const cacheDir = mkdtempSync(join(tmpdir(), 'captioner-e2e-cache-'));
  temps.push(cacheDir);
  const workerEnv = env(uri, cacheDir, { REDIS_URL: redis.url, QUEUE_NAME: 'model-uri' });
  const first = await startWorker(workerEnv);
  running.push(first);
  assert.match(first.logs, new RegExp(`model bundle ${version} pulled and verified: \\d+ files`));
  assert.match(first.logs, new RegExp(`Loaded \\S+ ${version} .* from ${cacheDir}/${version}`));
  assert.equal((await first.stop()).code, 0);

  const second = await startWorker(workerEnv);
  running.push(second);
  assert.match(second.logs, new RegExp(`model bundle ${version} already in .*: no download`));
  assert.doesNotMatch(second.logs, /pulling model bundle/);
  assert.equal((await second.stop()).code, 0);
});

test('the embedded API loads its model from MODEL_URI and reports its version', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const uri = await publish('embedded');
  const cacheDir = mkdtempSync(join(tmpdir(), 'captioner-e2e-cache-'));
  temps.push(cacheDir);
  const api = await startApi(env(uri, cacheDir));
  running.push(api);
  await api.waitFor('/health/ready');
  const res = await fetch(`${api.url}/api/v1/models`, {
    headers: await bearer('e2e-model-uri', 'caption:read caption:write'),
  });
  const body = (await res.json()) as { models: { version: string }[] };
  assert.equal(res.status, 200);
  assert.deepEqual(
    body.models.map((m) => m.version),
    [version],
  );
  await api.stop();
});

test('a worker refuses to start on a corrupted object, naming the file, and is never ready', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const uri = await publish('corrupt');
  const bytes = readFileSync(join(bundle, 'vision_encoder.onnx'));
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x55;
  await publisher.send(
    new PutObjectCommand({ Bucket: moto.bucket, Key: `corrupt/${version}/vision_encoder.onnx`, Body: bytes }),
  );
  const cacheDir = mkdtempSync(join(tmpdir(), 'captioner-e2e-cache-'));
  temps.push(cacheDir);
  await assert.rejects(
    startWorker(env(uri, cacheDir, { REDIS_URL: redis.url, QUEUE_NAME: 'model-uri-corrupt' })),
    (err: Error) =>
      /exited before \/health\/ready answered/.test(err.message) &&
      /vision_encoder\.onnx refused: sha256 [0-9a-f]{64} does not match the manifest/.test(err.message),
  );
});

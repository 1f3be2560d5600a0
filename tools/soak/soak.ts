/**
 * `npm run soak -- --minutes 10 [--rate 3] [--seed N]` (issue 6 item 15; not in CI). Queue mode as it
 * runs in production: a private redis-server, the API and a worker from dist/, the tiny model. An
 * open-loop mixed load at a fixed arrival rate: new images (sync), repeats (cache hits), async jobs that
 * are polled to the end, and bad inputs. Prints requests, errors by status, p50/p99 per kind, the RSS of
 * each process and Redis memory over time; exits 1 on a 5xx, a lost job, or memory that keeps growing
 * after warm-up.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Answer } from '../../test/e2e/support/http';
import { imagesDir } from '../../test/helpers/paths';
import { token } from '../../test/helpers/tokens';
import { sleep } from '../../test/helpers/time';
import { CheckedClient } from '../../test/reliability/support/client';
import { freshPhoto, prng, randomBuffer, smallPhotos } from '../../test/reliability/support/images';
import { apisAndWorker, memoryOf, queueEnv, stopAll, TestRedis } from '../../test/reliability/support/stack';

type Kind = 'new' | 'repeat' | 'async' | 'bad';
const MIX: [Kind, number][] = [
  ['new', 0.35],
  ['repeat', 0.3],
  ['async', 0.2],
  ['bad', 0.15],
];
const MAX_IN_FLIGHT = 32;
const SAMPLE_MS = 15_000;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const minutes = arg('minutes', 10);
  const rate = arg('rate', 3);
  const seed = arg('seed', Math.floor(Math.random() * 2 ** 31));
  const rand = prng(seed);
  console.log(`# soak: ${minutes} min at ${rate} req/s, seed ${seed}`);
  const redis = await TestRedis.start();
  const stop = async (): Promise<void> => stopAll(redis);
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    const env = await queueEnv(redis.url, { RATE_LIMIT_LIMIT: '1000000', LOG_LEVEL: 'warn' });
    const {
      apis: [a],
      worker: w,
    } = await apisAndWorker(env);
    const client = new CheckedClient(a.url);
    // One subject for the whole run, with a token that outlives it and the final polling.
    const jwt = await token({ sub: `soak-${randomUUID()}`, expiresIn: minutes * 60 + 1800 });
    const auth = { authorization: `Bearer ${jwt}` };
    const bad = readdirSync(join(imagesDir, 'bad')).map((f) => readFileSync(join(imagesDir, 'bad', f)));
    const repeats = smallPhotos.slice(0, 4).map((f) => freshPhoto(f));
    for (const r of repeats) await client.upload(auth, r); // warm the cache

    const latencies = new Map<Kind, number[]>(MIX.map(([k]) => [k, []]));
    const statuses = new Map<string, number>();
    const jobs: string[] = [];
    const samples: string[] = [];
    const rss: { at: number; api: number; worker: number; redis: number }[] = [];
    let inFlight = 0;
    let skipped = 0;
    let transportErrors = 0;
    const errorSamples: string[] = [];
    const count = (kind: Kind, a: Answer): void => {
      const key = `${kind} ${a.status}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      latencies.get(kind)?.push(a.ms);
    };
    const send = async (kind: Kind): Promise<void> => {
      const i = Math.floor(rand() * 1e9);
      let a: Answer;
      if (kind === 'new') a = await client.upload(auth, freshPhoto(smallPhotos[i % smallPhotos.length]));
      else if (kind === 'repeat') a = await client.upload(auth, repeats[i % repeats.length]);
      else if (kind === 'async') {
        a = await client.upload(auth, freshPhoto(smallPhotos[i % smallPhotos.length]), { mode: 'async' });
        if (a.status === 202) jobs.push(String(a.body.job_id));
      } else {
        const pick = i % (bad.length + 1);
        a = await client.upload(auth, pick < bad.length ? bad[pick] : randomBuffer(rand, 4096));
      }
      count(kind, a);
    };
    const sample = async (): Promise<void> => {
      const m = {
        at: Date.now(),
        api: memoryOf(a).rssMiB,
        worker: memoryOf(w).rssMiB,
        redis: (await redis.usedMemory()) / 2 ** 20,
      };
      rss.push(m);
      const line = `t=${Math.round((m.at - started) / 1000)}s requests=${[...statuses.values()].reduce((x, y) => x + y, 0)} in-flight=${inFlight} RSS api=${m.api.toFixed(0)}MiB worker=${m.worker.toFixed(0)}MiB redis=${m.redis.toFixed(1)}MiB`;
      samples.push(line);
      console.log(`# ${line}`);
    };

    const started = Date.now();
    const end = started + minutes * 60_000;
    let nextSample = started;
    const running = new Set<Promise<void>>();
    for (let n = 0; Date.now() < end; n++) {
      const due = started + (n * 1000) / rate;
      if (due > Date.now()) await sleep(due - Date.now());
      if (Date.now() >= nextSample) {
        await sample();
        nextSample += SAMPLE_MS;
      }
      if (inFlight >= MAX_IN_FLIGHT) {
        skipped++; // the service is slower than the offered rate: counted, not queued without bound
        continue;
      }
      let r = rand();
      const kind = MIX.find(([, p]) => (r -= p) < 0)?.[0] ?? 'new';
      inFlight++;
      const p = send(kind)
        .catch((err: unknown) => {
          transportErrors++;
          if (errorSamples.length < 5) errorSamples.push((err as Error).message.split('\n')[0]);
        })
        .finally(() => {
          inFlight--;
          running.delete(p);
        });
      running.add(p);
    }
    await Promise.all(running);
    // Every accepted async job must end (success or failed with a reason), none lost.
    const lost: string[] = [];
    const outcome = new Map<string, number>();
    for (const id of jobs) {
      const done = await client.settle(auth, id, 120_000).catch(() => undefined);
      const status =
        done === undefined ? 'stuck' : done.status === 200 ? String(done.body.status) : `http ${done.status}`;
      outcome.set(status, (outcome.get(status) ?? 0) + 1);
      if (status !== 'success' && status !== 'failed') lost.push(`${id}: ${status}`);
    }
    await sample();

    const total = [...statuses.values()].reduce((x, y) => x + y, 0);
    const fivexx = [...statuses].filter(([k]) => Number(k.split(' ')[1]) >= 500);
    console.log(
      `# soak: ${total} requests in ${((Date.now() - started) / 60_000).toFixed(1)} min (${skipped} arrivals skipped at ${MAX_IN_FLIGHT} in flight, ${transportErrors} transport errors)`,
    );
    console.log(
      `# soak: by kind and status: ${[...statuses]
        .sort()
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}`,
    );
    for (const [kind, values] of latencies) {
      console.log(
        `# soak: ${kind} p50 ${percentile(values, 50).toFixed(0)} ms, p99 ${percentile(values, 99).toFixed(0)} ms (n=${values.length})`,
      );
    }
    console.log(`# soak: async jobs ${jobs.length}: ${[...outcome].map(([k, v]) => `${v} ${k}`).join(', ')}`);
    console.log(
      `# soak: max RSS api ${memoryOf(a).peakMiB.toFixed(0)} MiB, worker ${memoryOf(w).peakMiB.toFixed(0)} MiB; Redis max ${Math.max(...rss.map((m) => m.redis)).toFixed(1)} MiB`,
    );
    // Flat after warm-up: RSS saw-tooths with garbage collection, so compare the highest sample of the
    // second quarter of the run (warm) with the highest of the last quarter.
    const q = Math.max(1, Math.floor(rss.length / 4));
    const peakOf = (from: number, to: number, key: 'api' | 'worker' | 'redis'): number =>
      Math.max(...rss.slice(from, Math.max(from + 1, to)).map((m) => m[key]));
    const warm = {
      api: peakOf(q, 2 * q, 'api'),
      worker: peakOf(q, 2 * q, 'worker'),
      redis: peakOf(q, 2 * q, 'redis'),
    };
    const tail = rss.length - q;
    const growth = {
      api: peakOf(tail, rss.length, 'api') - warm.api,
      worker: peakOf(tail, rss.length, 'worker') - warm.worker,
      redis: peakOf(tail, rss.length, 'redis') - warm.redis,
    };
    console.log(
      `# soak: growth after warm-up (peak of the last quarter - peak of the second): api ${growth.api.toFixed(0)} MiB, worker ${growth.worker.toFixed(0)} MiB, redis ${growth.redis.toFixed(1)} MiB`,
    );
    const failures = [
      ...(fivexx.length > 0 ? [`5xx answers: ${fivexx.map(([k, v]) => `${k}: ${v}`).join(', ')}`] : []),
      ...(transportErrors > 0
        ? [`${transportErrors} requests failed (transport or header check): ${errorSamples.join('; ')}`]
        : []),
      ...(lost.length > 0 ? [`lost jobs: ${lost.slice(0, 10).join('; ')}`] : []),
      ...(growth.api > Math.max(64, warm.api * 0.25)
        ? [`API memory grew by ${growth.api.toFixed(0)} MiB`]
        : []),
      ...(growth.worker > Math.max(64, warm.worker * 0.25)
        ? [`worker memory grew by ${growth.worker.toFixed(0)} MiB`]
        : []),
      ...(growth.redis > 32 ? [`Redis memory grew by ${growth.redis.toFixed(1)} MiB`] : []),
    ];
    for (const f of failures) console.log(`# soak FAILED: ${f}`);
    if (failures.length === 0)
      console.log('# soak: passed (zero 5xx, zero lost jobs, memory flat after warm-up)');
    process.exitCode = failures.length === 0 ? 0 : 1;
  } finally {
    await stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

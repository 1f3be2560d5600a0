/**
 * Per-worker figures the API needs for estimates: each worker publishes its recent mean batch duration
 * with a timestamp (ModelAnnouncer); a worker not heard from for FLEET_WINDOW_MS is not counted live.
 */
import type { RedisConnection as Redis } from '../config/redis-connection';

export interface WorkerStats {
  at: number;
  batchSeconds?: number;
}

export const FLEET_WINDOW_MS = 60_000;

export async function readFleet(
  redis: Redis,
  key: string,
  now = Date.now(),
): Promise<{ workers: number; batchSeconds: number | undefined }> {
  const all = await redis.hgetall(key);
  let workers = 0;
  let sum = 0;
  let measured = 0;
  for (const raw of Object.values(all)) {
    const stats = parse(raw);
    if (stats === undefined || now - stats.at > FLEET_WINDOW_MS) continue;
    workers++;
    if (stats.batchSeconds !== undefined) {
      sum += stats.batchSeconds;
      measured++;
    }
  }
  return { workers: Math.max(1, workers), batchSeconds: measured === 0 ? undefined : sum / measured };
}

/** Writes this worker's figures and drops records of workers gone for ten windows. */
export async function publishStats(
  redis: Redis,
  key: string,
  workerId: string,
  stats: WorkerStats,
): Promise<void> {
  const all = await redis.hgetall(key);
  const stale = Object.entries(all)
    .filter(([, raw]) => (parse(raw)?.at ?? 0) < stats.at - 10 * FLEET_WINDOW_MS)
    .map(([id]) => id);
  const multi = redis.multi().hset(key, workerId, JSON.stringify(stats));
  if (stale.length > 0) multi.hdel(key, ...stale);
  await multi.exec();
}

function parse(raw: string): WorkerStats | undefined {
  try {
    const v = JSON.parse(raw) as WorkerStats;
    return typeof v.at === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes an accepted job durable before its 202: waits until the queue Redis' replicas acknowledged the
 * job's writes (Redis WAIT), so a failover of the master cannot lose a job the API accepted.
 *
 * WAIT covers the writes of the connection that sends it, and it blocks that connection, so it runs on
 * a connection of its own, as a group commit: the barrier writes one key on the master of the queue's
 * slot (after every write the callers saw acknowledged, so replicating it replicates theirs) and WAITs;
 * callers arriving while a WAIT is in flight share the next one. One slow replica costs every caller at
 * most two WAIT timeouts, never a queue of them. The barrier also checks that each caller's key is on
 * the master it ran on: a failover between a caller's writes and the barrier (the writes died with the
 * old master) is then reported as lost, not as accepted.
 */
import { Cluster } from 'ioredis';
import type { RedisConnection } from '../config/redis-connection';

export interface BarrierOutcome {
  /** Replicas that acknowledged the writes (Redis WAIT's answer). */
  replicas: number;
  /** The caller's key was on the master: false means its writes were lost in a failover. */
  present: boolean;
}

/** Tries of one barrier on a Redis Cluster whose slot moved (a failover): the first, then re-routed. */
const ATTEMPTS = 3;
/** Errors after which a cluster pipeline is sent again once the slot is re-learned. */
const REROUTABLE = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b|Connection is closed/;

export class ReplicationBarrier {
  private running?: Promise<Map<string, number>>;
  private next?: Promise<Map<string, number>>;
  /** Keys of the callers waiting for the next barrier. */
  private pending = new Set<string>();

  constructor(
    private readonly redis: RedisConnection,
    /** Written by each barrier; on a cluster it must share the callers' hash slot. */
    private readonly barrierKey: string,
    private readonly replicas: number,
    private readonly timeoutMs: number,
  ) {}

  /** Waits until the writes the caller saw acknowledged (among them `key`) are on the replicas. */
  async sync(key: string): Promise<BarrierOutcome> {
    this.pending.add(key);
    if (this.running === undefined) this.running = this.start();
    else
      this.next ??= this.running
        .catch(() => undefined)
        .then(() => {
          this.next = undefined;
          return (this.running = this.start());
        });
    const done = await (this.next ?? this.running);
    const replicas = done.get('') ?? 0;
    return { replicas, present: (done.get(key) ?? 0) > 0 };
  }

  private start(): Promise<Map<string, number>> {
    const keys = [...this.pending];
    this.pending = new Set();
    const run = this.barrier(keys);
    void run
      .catch(() => undefined)
      .then(() => {
        if (this.running === run) this.running = undefined;
      });
    return run;
  }

  /** EXISTS of each caller's key, the barrier write, WAIT: one pipeline on one master connection. */
  private async barrier(keys: string[]): Promise<Map<string, number>> {
    for (let attempt = 1; ; attempt++) {
      const pipeline = this.redis.pipeline();
      for (const key of keys) pipeline.exists(key);
      pipeline.set(this.barrierKey, String(Date.now()), 'PX', 60_000);
      pipeline.call('WAIT', this.replicas, this.timeoutMs);
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err !== null)?.[0] ?? undefined;
      if (failed === undefined && results.length === keys.length + 2) {
        const found = new Map<string, number>(keys.map((key, i) => [key, Number(results[i][1])]));
        found.set('', Number(results[results.length - 1][1]));
        return found;
      }
      const err = failed ?? new Error('the replication barrier was not run');
      if (!(this.redis instanceof Cluster) || attempt >= ATTEMPTS || !REROUTABLE.test(err.message)) throw err;
      // ioredis fails a pipeline of writes on MOVED instead of re-routing it: a routed read re-learns
      // the slot's master; the barrier is idempotent and is sent again.
      await this.redis.exists(this.barrierKey);
    }
  }
}

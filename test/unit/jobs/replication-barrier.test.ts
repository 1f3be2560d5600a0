/** The replication barrier's group commit, on a fake connection that records each pipeline it runs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RedisConnection } from '../../../src/config/redis-connection';
import { ReplicationBarrier } from '../../../src/jobs/replication-barrier';

type Reply = [Error | null, unknown];

/** A connection whose pipelines answer after `release()`; `present` says which keys EXISTS finds. */
class FakeConnection {
  readonly pipelines: string[][] = [];
  private readonly gates: Array<() => void> = [];
  constructor(
    private readonly present: Set<string>,
    private readonly acked: number,
  ) {}

  pipeline(): unknown {
    const commands: string[][] = [];
    const chain = {
      exists: (key: string) => (commands.push(['EXISTS', key]), chain),
      set: (key: string) => (commands.push(['SET', key]), chain),
      call: (name: string, ...args: unknown[]) => (commands.push([name, ...args.map(String)]), chain),
      exec: async (): Promise<Reply[]> => {
        this.pipelines.push(commands.map((c) => c.join(' ')));
        await new Promise<void>((resolve) => this.gates.push(resolve));
        return commands.map(([name, key]): Reply => {
          if (name === 'EXISTS') return [null, this.present.has(key) ? 1 : 0];
          if (name === 'WAIT') return [null, this.acked];
          return [null, 'OK'];
        });
      },
    };
    return chain;
  }

  /** Lets the oldest pipeline in flight answer. */
  async release(): Promise<void> {
    while (this.gates.length === 0) await new Promise((r) => setImmediate(r));
    this.gates.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
}

function barrier(connection: FakeConnection): ReplicationBarrier {
  return new ReplicationBarrier(connection as unknown as RedisConnection, 'b', 1, 100);
}

test('one caller: EXISTS of its key, the barrier write and WAIT in one pipeline', async () => {
  const c = new FakeConnection(new Set(['k1']), 1);
  const outcome = barrier(c).sync('k1');
  await c.release();
  assert.deepEqual(await outcome, { replicas: 1, present: true });
  assert.deepEqual(c.pipelines, [['EXISTS k1', 'SET b', 'WAIT 1 100']]);
});

test('callers arriving during a WAIT share the next one, never the one in flight', async () => {
  const c = new FakeConnection(new Set(['k1', 'k2', 'k3', 'k4']), 1);
  const b = barrier(c);
  const first = b.sync('k1');
  const later = ['k2', 'k3', 'k4'].map((k) => b.sync(k));
  await c.release();
  assert.deepEqual(await first, { replicas: 1, present: true });
  await c.release();
  for (const outcome of await Promise.all(later)) assert.deepEqual(outcome, { replicas: 1, present: true });
  assert.deepEqual(c.pipelines, [
    ['EXISTS k1', 'SET b', 'WAIT 1 100'],
    ['EXISTS k2', 'EXISTS k3', 'EXISTS k4', 'SET b', 'WAIT 1 100'],
  ]);
  // Idle again: the next caller starts a barrier of its own at once.
  const again = b.sync('k1');
  await c.release();
  assert.deepEqual(await again, { replicas: 1, present: true });
  assert.equal(c.pipelines.length, 3);
});

test('a key missing on the master reads as lost; fewer acknowledgements are reported as such', async () => {
  const c = new FakeConnection(new Set(['kept']), 0);
  const b = barrier(c);
  const kept = b.sync('kept');
  await c.release();
  assert.deepEqual(await kept, { replicas: 0, present: true });
  const lost = b.sync('lost');
  await c.release();
  assert.deepEqual(await lost, { replicas: 0, present: false });
});

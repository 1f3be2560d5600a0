import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeBudget, DecodeBudgetTimeout } from '../../../src/image/decode-budget';

/** A task that runs until released, recording how many bytes are held while it runs. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

test('DecodeBudget: decodes run while their costs fit; the rest wait in arrival order', async () => {
  const budget = new DecodeBudget(100, 60_000);
  const gates = [gate(), gate(), gate(), gate()];
  const started: number[] = [];
  const runs = [60, 30, 50, 10].map((cost, i) =>
    budget.run(cost, async () => {
      started.push(i);
      await gates[i].promise;
      return i;
    }),
  );
  await new Promise((r) => setImmediate(r));
  // 60 + 30 fit; 50 waits, and 10 (which would fit) waits behind it: no overtaking.
  assert.deepEqual(started, [0, 1]);
  assert.deepEqual(budget.usage, { used: 90, peak: 90, waiting: 2 });
  gates[0].open();
  await runs[0];
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1, 2, 3]);
  assert.equal(budget.usage.used, 90);
  for (const g of gates) g.open();
  assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3]);
  assert.deepEqual(budget.usage, { used: 0, peak: 90, waiting: 0 });
});

test('DecodeBudget: a waiter gives up after the bounded wait; a failure releases its bytes', async () => {
  const budget = new DecodeBudget(100, 50);
  const hold = gate();
  const first = budget.run(80, () => hold.promise);
  const late = budget.run(40, async () => 'never');
  await assert.rejects(late, (err: unknown) => err instanceof DecodeBudgetTimeout && err.waitedMs === 50);
  assert.equal(budget.usage.waiting, 0);
  hold.open();
  await first;
  await assert.rejects(
    budget.run(100, async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(budget.usage.used, 0);
  assert.equal(budget.fits(101), false);
  await assert.rejects(
    budget.run(101, async () => 1),
    RangeError,
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Semaphore } from '../../../src/image/semaphore';
import { sleep } from '../../helpers/time';

test('Semaphore: at most `limit` run at once, all complete, failures release their slot', async () => {
  const sem = new Semaphore(2);
  let running = 0;
  let peak = 0;
  const work = async (i: number): Promise<number> => {
    running++;
    peak = Math.max(peak, running);
    await sleep(10);
    running--;
    if (i === 3) throw new Error('boom');
    return i;
  };
  const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => sem.run(() => work(i))));
  assert.equal(peak, 2);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 7);
  assert.equal(sem.queued, 0);
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { recordOf } from '../../../src/throttling/redis-throttler.storage';

/** One script call answering n checks must give each the record a call of its own would have given. */
describe('records of the checks that shared one throttle script call', () => {
  test('all under the limit: consecutive counts, none blocked', () => {
    const reply = { hits: 7, leftMs: 59_001, counted: 3, blocked: false, blockLeftMs: 0 };
    assert.deepEqual(
      [0, 1, 2].map((i) => recordOf(reply, i)),
      [5, 6, 7].map((totalHits) => ({ totalHits, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 })),
    );
  });

  test('the call crossed the limit: the one over it and every later one are blocked at the same count', () => {
    // limit 10, 9 before, 4 checks: 10 passes, 11 sets the block, the last two find it.
    const reply = { hits: 11, leftMs: 30_000, counted: 2, blocked: true, blockLeftMs: 60_000 };
    const records = [0, 1, 2, 3].map((i) => recordOf(reply, i));
    assert.deepEqual(records[0], { totalHits: 10, timeToExpire: 30, isBlocked: false, timeToBlockExpire: 0 });
    for (const r of records.slice(1)) {
      assert.deepEqual(r, { totalHits: 11, timeToExpire: 30, isBlocked: true, timeToBlockExpire: 60 });
    }
  });

  test('already blocked: nothing counted, every check blocked with the time left', () => {
    const reply = { hits: 11, leftMs: 0, counted: 0, blocked: true, blockLeftMs: 1_500 };
    for (const i of [0, 1]) {
      assert.deepEqual(recordOf(reply, i), {
        totalHits: 11,
        timeToExpire: 0,
        isBlocked: true,
        timeToBlockExpire: 2,
      });
    }
  });
});

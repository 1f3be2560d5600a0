import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SingleFlight } from '../../../src/cache/single-flight';
import { sleep } from '../../helpers/time';

test('concurrent calls with one key share one execution; other keys run on their own', async () => {
  const flight = new SingleFlight<number>();
  let runs = 0;
  const work = async (): Promise<number> => {
    runs++;
    await sleep(20);
    return runs;
  };
  const calls = Array.from({ length: 20 }, () => flight.run('k', work));
  const other = flight.run('other', work);
  assert.equal(calls.filter((c) => c.joined).length, 19);
  const values = await Promise.all(calls.map((c) => c.promise));
  assert.ok(values.every((v) => v === values[0]));
  await other.promise;
  assert.equal(runs, 2);
  assert.equal(flight.size, 0);
  // Settled: the next call runs again.
  await flight.run('k', work).promise;
  assert.equal(runs, 3);
});

test('a failure is shared by the joined callers and does not stick', async () => {
  const flight = new SingleFlight<number>();
  const fail = async (): Promise<number> => {
    await sleep(5);
    throw new Error('boom');
  };
  const a = flight.run('k', fail);
  const b = flight.run('k', fail);
  await assert.rejects(a.promise, /boom/);
  await assert.rejects(b.promise, /boom/);
  assert.equal(await flight.run('k', async () => 7).promise, 7);
});

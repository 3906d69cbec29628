// The intake's fast lane against real Redis: every batch pushed is dispatched exactly once
// across schedulers, an unreadable batch is dropped without stopping the lane, a failed
// dispatch is handed to the intake queue, and closing lets a dispatch in progress finish
// and leaves later batches in the list.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { startIntakeFastLane, type IntakeFastLaneDeps } from '../../../scheduler/intake/intake-fast-lane.ts';
import type { Closable } from '../../../shared/process/lifecycle.ts';
import { deleteRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from '../../helpers/test-redis.ts';
import { waitFor } from '../../helpers/wait-for.ts';

describe('intake fast lane (real Redis)', function () {
  this.timeout(30_000);
  const prefix = testRedisPrefix('fast_lane');
  const key = `${prefix}:intake-fast-lane`;
  let redis: Redis;
  const lanes: Closable[] = [];
  const connections: Redis[] = [];

  function startLane(overrides: Partial<IntakeFastLaneDeps>): Closable {
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    connections.push(connection);
    const lane = startIntakeFastLane({
      connection,
      key,
      concurrency: 4,
      dispatch: async () => undefined,
      retryLater: async () => undefined,
      log: pino({ level: 'silent' }),
      ...overrides,
    });
    lanes.push(lane);
    return lane;
  }

  const push = (executionIds: number[]) => redis.lpush(key, JSON.stringify({ executionIds }));

  before(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  afterEach(async () => {
    await Promise.all(lanes.splice(0).map((lane) => lane.close()));
    connections.splice(0).forEach((c) => c.disconnect());
    await redis.del(key);
  });
  after(async () => {
    redis.disconnect();
    await deleteRedisPrefix(prefix);
  });

  it('dispatches every batch exactly once across two schedulers', async () => {
    const seen: number[] = [];
    const dispatch = async (ids: number[]) => void seen.push(...ids);
    startLane({ dispatch });
    startLane({ dispatch });
    for (let i = 1; i <= 50; i++) await push([i * 2 - 1, i * 2]);
    await waitFor(async () => seen.length, (n) => n >= 100, { what: 'every batch dispatched' });
    await sleep(300); // nothing more arrives
    assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1));
    assert.equal(await redis.llen(key), 0);
  });

  it('drops an unreadable batch and goes on with the next', async () => {
    const seen: number[][] = [];
    startLane({ dispatch: async (ids) => void seen.push(ids) });
    await redis.lpush(key, 'not json');
    await redis.lpush(key, JSON.stringify({ executionIds: [] }));
    await redis.lpush(key, JSON.stringify({ executionIds: [1], extra: true }));
    await push([7]);
    await waitFor(async () => seen.length, (n) => n >= 1, { what: 'the good batch' });
    assert.deepEqual(seen, [[7]]);
  });

  it('hands a batch whose dispatch failed to the intake queue', async () => {
    const retried: number[][] = [];
    startLane({
      dispatch: async () => {
        throw new Error('database unavailable');
      },
      retryLater: async (ids) => void retried.push(ids),
    });
    await push([3, 4]);
    await waitFor(async () => retried.length, (n) => n >= 1, { what: 'the retry' });
    assert.deepEqual(retried, [[3, 4]]);
  });

  it('closing lets a dispatch in progress finish and leaves later batches for another scheduler', async () => {
    let release: () => void = () => undefined;
    const finished: number[] = [];
    const lane = startLane({
      dispatch: async (ids) => {
        await new Promise<void>((resolve) => (release = resolve));
        finished.push(...ids);
      },
    });
    await push([1]);
    await waitFor(async () => redis.llen(key), (n) => n === 0, { what: 'the batch popped' });
    const closed = lane.close();
    await sleep(400); // the lane's pop in progress times out meanwhile
    await push([2]);
    let done = false;
    void closed.then(() => (done = true));
    await sleep(100);
    assert.equal(done, false, 'close waits for the dispatch in progress');
    release();
    await closed;
    assert.deepEqual(finished, [1]);
    assert.equal(await redis.llen(key), 1, 'a batch pushed after close stays for another scheduler');
  });
});

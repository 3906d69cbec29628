import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RedisLease } from '../../../../shared/redis/lease.ts';
import { deleteRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from '../../../helpers/test-redis.ts';

describe('RedisLease (real Redis)', () => {
  const prefix = testRedisPrefix('lease');
  let redis: Redis;
  before(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  after(async () => {
    redis.disconnect();
    await deleteRedisPrefix(prefix);
  });

  it('has one holder at a time; renewal keeps it, expiry frees it', async () => {
    const key = `${prefix}:lease:a`;
    const one = new RedisLease(redis, key, 'one', 300);
    const two = new RedisLease(redis, key, 'two', 300);
    assert.equal(await one.acquireOrRenew(), true);
    assert.equal(await two.acquireOrRenew(), false);
    await sleep(200);
    assert.equal(await one.acquireOrRenew(), true); // renewed before expiry
    await sleep(200);
    assert.equal(await two.acquireOrRenew(), false);
    await sleep(400); // one stops renewing
    assert.equal(await two.acquireOrRenew(), true);
    assert.equal(await one.acquireOrRenew(), false, 'a holder whose lease expired learns it lost');
  });

  it('releases only its own lease', async () => {
    const key = `${prefix}:lease:b`;
    const one = new RedisLease(redis, key, 'one', 5000);
    const two = new RedisLease(redis, key, 'two', 5000);
    assert.equal(await one.acquireOrRenew(), true);
    await two.release(); // not held: no effect
    assert.equal(await redis.get(key), 'one');
    await one.release();
    assert.equal(await redis.get(key), null);
    assert.equal(await two.acquireOrRenew(), true);
  });
});

// The executor node's start gate (start-unless-halted-2.lua): a halted account or agent
// refuses the execution and publishes nothing; otherwise the running frame goes out.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { redisKeys } from '../../../../shared/redis/keys.ts';
import { scripts } from '../../../../shared/redis/scripts/index.ts';
import { deleteRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from '../../../helpers/test-redis.ts';

describe('start-unless-halted script (real Redis)', () => {
  const prefix = testRedisPrefix('start_gate');
  const keys = redisKeys(prefix);
  let redis: Redis;
  let subscriber: Redis;
  const frames: string[] = [];

  before(async () => {
    redis = new Redis(TEST_REDIS_URL);
    subscriber = new Redis(TEST_REDIS_URL);
    subscriber.on('message', (_channel: string, message: string) => frames.push(message));
    await subscriber.subscribe(keys.progressChannel(7));
  });
  after(async () => {
    redis.disconnect();
    subscriber.disconnect();
    await deleteRedisPrefix(prefix);
  });
  beforeEach(() => {
    frames.length = 0;
  });

  const start = (agentId: number, frame: string) =>
    scripts(redis)('start-unless-halted-2', [keys.agentHaltKey(agentId), keys.accountHaltKey(7)], [keys.progressChannel(7), frame]);

  it('publishes the running frame when neither the agent nor the account is halted', async () => {
    const published = once(subscriber, 'message');
    assert.equal(await start(1, '{"n":1}'), '');
    await published;
    assert.deepEqual(frames, ['{"n":1}']);
  });

  it('refuses a halted agent without publishing', async () => {
    await redis.set(keys.agentHaltKey(2), 'stop');
    assert.equal(await start(2, '{"n":2}'), 'agent_halted');
    assert.equal(await start(1, '{"n":3}'), '', 'another agent of the account still starts');
    await sleep(50);
    assert.deepEqual(frames, ['{"n":3}']);
  });

  it('refuses every agent of a halted account, the account reason first', async () => {
    await redis.set(keys.accountHaltKey(7), 'stop all');
    assert.equal(await start(1, '{"n":4}'), 'account_halted');
    assert.equal(await start(2, '{"n":5}'), 'account_halted');
    await redis.del(keys.accountHaltKey(7));
    assert.equal(await start(1, '{"n":6}'), '', 'resumed');
    await sleep(50);
    assert.deepEqual(frames, ['{"n":6}']);
  });
});

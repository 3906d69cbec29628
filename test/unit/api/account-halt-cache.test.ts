import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import pino from 'pino';
import { AccountHaltCache } from '../../../api/agents/account-halt-cache.ts';
import { AgentCache } from '../../../api/agents/agent-cache.ts';
import { ApiKeyAuthenticator } from '../../../api/middleware/authenticate.ts';
import { listenForInvalidations } from '../../../api/middleware/cache-invalidation-listener.ts';
import { KillSwitch } from '../../../shared/execution/kill-switch.ts';
import { redisKeys } from '../../../shared/redis/keys.ts';
import { TEST_REDIS_URL } from '../../helpers/test-redis.ts';
import { TestSystem } from '../../helpers/test-system.ts';
import { waitFor } from '../../helpers/wait-for.ts';

describe('AccountHaltCache (real Redis and PostgreSQL)', () => {
  let system: TestSystem;
  let redis: Redis;
  let subscriber: Redis;
  let cache: AccountHaltCache;
  let accountId: number;

  before(async () => {
    system = await TestSystem.create('halt_cache');
    accountId = (await system.createAccount('acme')).id;
    redis = new Redis(TEST_REDIS_URL);
    subscriber = new Redis(TEST_REDIS_URL);
    const keys = redisKeys(system.redisPrefix);
    cache = new AccountHaltCache(redis, keys, 60_000);
    const unused = async () => null;
    await listenForInvalidations(
      subscriber,
      keys,
      { authenticator: new ApiKeyAuthenticator({ findActiveByHash: unused }, 60_000), agents: new AgentCache({ get: unused, getById: unused }, 60_000), accountHalts: cache },
      pino({ level: 'silent' }),
    );
  });

  after(async () => {
    subscriber.disconnect();
    redis.disconnect();
    await system.stop();
  });

  it('answers from memory once read, so a change behind its back is not seen', async () => {
    const keys = redisKeys(system.redisPrefix);
    assert.equal(await cache.reason(999), null);
    await redis.set(keys.accountHaltKey(999), 'written without the kill switch');
    assert.equal(await cache.reason(999), null);
    cache.invalidate(999);
    assert.equal(await cache.reason(999), 'written without the kill switch');
  });

  it('sees every halt and resume of the kill switch at once, through the account-halt-changed channel', async () => {
    const killSwitch = new KillSwitch(system.db, redis, redisKeys(system.redisPrefix));
    assert.equal(await cache.reason(accountId), null);
    await killSwitch.setAccountHalted(accountId, true, 'drill', 'system');
    await waitFor(() => cache.reason(accountId), (reason) => reason === 'drill', { timeoutMs: 2000, intervalMs: 5, what: 'the halt to be seen' });
    await killSwitch.setAccountHalted(accountId, false, 'over', 'system');
    await waitFor(() => cache.reason(accountId), (reason) => reason === null, { timeoutMs: 2000, intervalMs: 5, what: 'the resume to be seen' });
  });

  it('ignores a malformed message by flushing rather than trusting it', async () => {
    const keys = redisKeys(system.redisPrefix);
    assert.equal(await cache.reason(998), null);
    await redis.set(keys.accountHaltKey(998), 'halted');
    await redis.publish(keys.accountHaltChangedChannel, 'not-an-id');
    await waitFor(() => cache.reason(998), (reason) => reason === 'halted', { timeoutMs: 2000, intervalMs: 5, what: 'the flush' });
  });
});

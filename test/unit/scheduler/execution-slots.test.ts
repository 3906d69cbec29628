// The scheduler's rate-limit slots (acquire-execution-slot-3.lua through
// acquireExecutionSlots) against a real Redis: each of the three limits, their windows,
// the release and expiry of concurrency slots, all-or-nothing grants, idempotence, and
// no overshoot when many callers race for the last slots.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { DEFAULT_LIMITS, type EffectiveLimits } from '../../../shared/execution/rate-limits.ts';
import { redisKeys } from '../../../shared/redis/keys.ts';
import { acquireExecutionSlots, SLOT_GRACE_MS, type SlotRequest } from '../../../scheduler/intake/execution-slots.ts';
import { deleteRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from '../../helpers/test-redis.ts';

const T0 = 1_800_000_000_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;

describe('execution slots (real Redis)', () => {
  const prefix = testRedisPrefix('slots');
  const keys = redisKeys(prefix);
  let redis: Redis;
  let nextId = 1;
  /** Each test gets its own account, so windows never carry over between tests. */
  let accountId = 100;

  before(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  after(async () => {
    redis.disconnect();
    await deleteRedisPrefix(prefix);
  });
  beforeEach(() => {
    accountId += 1;
  });

  const limits = (overrides: Partial<EffectiveLimits> = {}): EffectiveLimits => ({
    swarmExecutionsPerHour: null,
    accountExecutionsPerMinute: DEFAULT_LIMITS.accountExecutionsPerMinute,
    agentConcurrency: DEFAULT_LIMITS.agentConcurrency,
    ...overrides,
  });
  const request = (fields: Partial<SlotRequest> = {}): SlotRequest => ({
    executionId: nextId++,
    accountId,
    agentId: 1,
    swarm: null,
    limits: limits(),
    timeLimitMs: 30_000,
    ...fields,
  });
  const take = async (requests: SlotRequest[], now = T0) => (await acquireExecutionSlots(redis, keys, requests, now)).map((d) => (d.granted ? 'ok' : d.code));
  const release = (req: SlotRequest) => redis.zrem(keys.agentRunningKey(req.accountId, req.agentId), String(req.executionId));

  it('counts the agents of one swarm together against its hourly limit, and frees the window an hour later', async () => {
    const swarmLimits = limits({ swarmExecutionsPerHour: 3 });
    const inSwarm = (agentId: number) => request({ agentId, swarm: 'research', limits: swarmLimits });
    const first = [inSwarm(1), inSwarm(2), inSwarm(3)];
    assert.deepEqual(await take(first), ['ok', 'ok', 'ok']);
    await Promise.all(first.map(release));
    const [refused] = await acquireExecutionSlots(redis, keys, [inSwarm(4)], T0 + 1000);
    assert.deepEqual(refused, { granted: false, code: 'swarm_rate_limited', message: 'swarm research reached 3 executions per hour' });
    // Another swarm of the same account and an agent with no swarm are not held back.
    assert.deepEqual(await take([request({ swarm: 'billing', limits: swarmLimits }), request({ agentId: 9 })], T0 + 1000), ['ok', 'ok']);
    assert.deepEqual(await take([inSwarm(4)], T0 + HOUR - 1), ['swarm_rate_limited']);
    assert.deepEqual(await take([inSwarm(4)], T0 + HOUR + 1), ['ok']);
  });

  it('limits executions per account per minute across its agents, on a sliding minute', async () => {
    const perMinute = limits({ accountExecutionsPerMinute: 2 });
    assert.deepEqual(await take([request({ agentId: 1, limits: perMinute }), request({ agentId: 2, limits: perMinute })], T0), ['ok', 'ok']);
    const [refused] = await acquireExecutionSlots(redis, keys, [request({ agentId: 3, limits: perMinute })], T0 + 30_000);
    assert.deepEqual(refused, { granted: false, code: 'account_rate_limited', message: 'account reached 2 executions per minute' });
    assert.deepEqual(await take([request({ limits: perMinute })], T0 + MINUTE + 1), ['ok']);
    // Another account has its own minute.
    assert.deepEqual(await take([request({ accountId: accountId + 1000, limits: perMinute })], T0 + 30_000), ['ok']);
  });

  it('limits running executions per agent until one is released or its slot expires', async () => {
    const two = limits({ agentConcurrency: 2 });
    const a = request({ limits: two });
    const b = request({ limits: two, timeLimitMs: 1000 });
    assert.deepEqual(await take([a, b]), ['ok', 'ok']);
    const [refused] = await acquireExecutionSlots(redis, keys, [request({ limits: two })], T0 + 10);
    assert.deepEqual(refused, { granted: false, code: 'agent_concurrency_limited', message: 'agent reached 2 concurrent executions' });
    // Another agent of the account runs meanwhile.
    assert.deepEqual(await take([request({ agentId: 2, limits: two })], T0 + 10), ['ok']);
    await release(a);
    assert.deepEqual(await take([request({ limits: two })], T0 + 20), ['ok']);
    assert.deepEqual(await take([request({ limits: two })], T0 + 30), ['agent_concurrency_limited']);
    // b's release was lost: its slot lapses after its time limit plus the grace, not before.
    assert.deepEqual(await take([request({ limits: two })], T0 + 1000 + SLOT_GRACE_MS - 1), ['agent_concurrency_limited']);
    assert.deepEqual(await take([request({ limits: two })], T0 + 1000 + SLOT_GRACE_MS + 1), ['ok']);
  });

  it('takes all three slots or none: a refusal leaves the other windows as they were', async () => {
    const tight = limits({ swarmExecutionsPerHour: 5, accountExecutionsPerMinute: 5, agentConcurrency: 1 });
    assert.deepEqual(await take([request({ swarm: 's', limits: tight })]), ['ok']);
    assert.deepEqual(await take([request({ swarm: 's', limits: tight }), request({ swarm: 's', limits: tight })]), ['agent_concurrency_limited', 'agent_concurrency_limited']);
    assert.equal(await redis.zcard(keys.swarmWindowKey(accountId, 's')), 1);
    assert.equal(await redis.zcard(keys.accountWindowKey(accountId)), 1);
    assert.equal(await redis.zcard(keys.agentRunningKey(accountId, 1)), 1);
  });

  it('grants an execution that already holds its slot again without taking a second one', async () => {
    const once = request({ swarm: 's', limits: limits({ swarmExecutionsPerHour: 1, agentConcurrency: 1 }) });
    assert.deepEqual(await take([once]), ['ok']);
    assert.deepEqual(await take([once], T0 + 5), ['ok']);
    assert.deepEqual(await take([{ ...once }, { ...once }], T0 + 6), ['ok', 'ok']);
    assert.equal(await redis.zcard(keys.swarmWindowKey(accountId, 's')), 1);
    assert.equal(await redis.zcard(keys.accountWindowKey(accountId)), 1);
  });

  it('never overshoots when many connections race for the same limits', async () => {
    const racing = limits({ swarmExecutionsPerHour: 1000, accountExecutionsPerMinute: 1000, agentConcurrency: 25 });
    const connections = Array.from({ length: 8 }, () => new Redis(TEST_REDIS_URL));
    try {
      const batches = connections.map((connection) =>
        acquireExecutionSlots(connection, keys, Array.from({ length: 20 }, () => request({ swarm: 'race', limits: racing }))),
      );
      const decisions = (await Promise.all(batches)).flat();
      assert.equal(decisions.filter((d) => d.granted).length, 25);
      assert.equal(decisions.filter((d) => !d.granted && d.code === 'agent_concurrency_limited').length, 160 - 25);
      assert.equal(await redis.zcard(keys.agentRunningKey(accountId, 1)), 25);
      assert.equal(await redis.zcard(keys.swarmWindowKey(accountId, 'race')), 25);
    } finally {
      connections.forEach((c) => c.disconnect());
    }
  });

  it('answers an empty batch with no decisions', async () => {
    assert.deepEqual(await acquireExecutionSlots(redis, keys, []), []);
  });
});

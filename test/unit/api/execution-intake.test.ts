// The api's intake against real PostgreSQL and Redis: rows are committed first, then a
// batch with an execution a synchronous caller waits for takes the fast lane (a list
// push), and any other batch becomes an intake job.
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ExecutionIntake } from '../../../api/executions/execution-intake.ts';
import { ExecutionStore } from '../../../shared/db/stores/execution-store.ts';
import { QUEUES } from '../../../shared/execution/protocol.ts';
import type { IntakeJob } from '../../../shared/execution/queues.ts';
import { redisKeys } from '../../../shared/redis/keys.ts';
import { deleteRedisPrefix, TEST_REDIS_URL } from '../../helpers/test-redis.ts';
import { TestSystem, type TestAccount } from '../../helpers/test-system.ts';

describe('execution intake (real PostgreSQL and Redis)', function () {
  this.timeout(30_000);
  let system: TestSystem;
  let account: TestAccount;
  let agentId: number;
  let connection: Redis;
  let queue: Queue<IntakeJob>;
  let intake: ExecutionIntake;
  let laneKey: string;

  before(async () => {
    system = await TestSystem.create('intake');
    account = await system.createAccount('intake');
    agentId = await system.createAgent(account.id, 'queued');
    connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue<IntakeJob>(QUEUES.intake, { connection, prefix: system.redisPrefix });
    laneKey = redisKeys(system.redisPrefix).intakeFastLane;
    intake = new ExecutionIntake(new ExecutionStore(system.db), queue, { redis: connection, key: laneKey }, pino({ level: 'silent' }));
  });

  after(async () => {
    await queue?.close();
    connection?.disconnect();
    await deleteRedisPrefix(system.redisPrefix);
    await system?.stop();
  });

  const queued = (awaited: boolean) =>
    intake.queue({ accountId: account.id, agentId, inputJson: '{"n":1}', awaited, audit: { actor: 'system', actionType: 'execution_queued', description: 'queued by a test' } });

  it('sends a batch a synchronous caller waits for down the fast lane, committed first', async () => {
    const row = await queued(true);
    await intake.idle();
    const [batch] = await connection.lrange(laneKey, 0, -1);
    assert.deepEqual(JSON.parse(batch!), { executionIds: [row.id] });
    const [stored] = (await system.db.query(`SELECT status, awaited FROM executions WHERE id = $1`, [row.id])) as { status: string; awaited: boolean }[];
    assert.deepEqual(stored, { status: 'queued', awaited: true });
    assert.equal(await queue.count(), 0, 'no intake job for it');
  });

  it('makes any other batch an intake job', async () => {
    await connection.del(laneKey);
    const rows = await Promise.all([queued(false), queued(false)]);
    await intake.idle();
    const jobs = await queue.getJobs(['wait']);
    assert.deepEqual(jobs.flatMap((job) => job.data.executionIds).sort((a, b) => a - b), rows.map((r) => r.id).sort((a, b) => a - b));
    assert.equal(await connection.llen(laneKey), 0);
  });
});

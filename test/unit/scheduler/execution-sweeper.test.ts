// The execution sweeper against real PostgreSQL and Redis: queued executions whose intake
// job was lost are enqueued again (but not those behind a backlog), a completed job whose
// report never arrived has its result persisted from the job, and executions whose job
// failed or vanished end node_lost.
import assert from 'node:assert/strict';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ExecutionFinisher } from '../../../scheduler/execution-finisher.ts';
import { persistNodeMessages } from '../../../scheduler/results/results-consumer.ts';
import { startExecutionSweeper } from '../../../scheduler/sweeper/execution-sweeper.ts';
import { loadConfig } from '../../../shared/config.ts';
import { ExecutionStore } from '../../../shared/db/stores/execution-store.ts';
import { QUEUES, type NodeMessage } from '../../../shared/execution/protocol.ts';
import { executionJobId, intakeJobSchema, type IntakeJob } from '../../../shared/execution/queues.ts';
import type { Closable } from '../../../shared/process/lifecycle.ts';
import { redisKeys } from '../../../shared/redis/keys.ts';
import { deleteRedisPrefix, TEST_REDIS_URL } from '../../helpers/test-redis.ts';
import { TestSystem, type TestAccount } from '../../helpers/test-system.ts';
import { waitFor } from '../../helpers/wait-for.ts';

describe('execution sweeper (real PostgreSQL and Redis)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  let account: TestAccount;
  let agentId: number;
  let store: ExecutionStore;
  let redis: Redis;
  let connection: Redis;
  let intake: Queue<IntakeJob>;
  let exec: Queue;
  let results: Queue;
  let sweeper: Closable | null = null;
  const log = pino({ level: 'silent' });

  before(async () => {
    system = await TestSystem.create('sweeper');
    account = await system.createAccount('sweeper');
    agentId = await system.createAgent(account.id, 'sweepable');
    store = new ExecutionStore(system.db);
    redis = new Redis(TEST_REDIS_URL);
    connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    intake = new Queue<IntakeJob>(QUEUES.intake, { connection, prefix: system.redisPrefix });
    exec = new Queue(QUEUES.exec('standard'), { connection, prefix: system.redisPrefix });
    results = new Queue(QUEUES.results, { connection, prefix: system.redisPrefix });
  });

  afterEach(async () => {
    await sweeper?.close();
    sweeper = null;
    await intake.obliterate({ force: true });
    await exec.obliterate({ force: true });
    await results.obliterate({ force: true });
    // Each test starts with no unfinished execution for the sweeper to find.
    await system.db.query(`UPDATE executions SET status = 'completed', finished_at = now() WHERE finished_at IS NULL`);
  });

  after(async () => {
    await Promise.all([intake?.close(), exec?.close(), results?.close()]);
    redis?.disconnect();
    connection?.disconnect();
    await deleteRedisPrefix(system.redisPrefix);
    await system?.stop();
  });

  function startSweeper(): void {
    const config = loadConfig({ REDIS_PREFIX: system.redisPrefix });
    const finisher = new ExecutionFinisher(store, redis, redisKeys(system.redisPrefix), log);
    const resultsDeps = { config, executions: store, finisher, log };
    sweeper = startExecutionSweeper({
      executions: store,
      finisher,
      intake,
      execQueues: { standard: exec, tee: exec },
      results,
      redis,
      recover: (messages) => persistNodeMessages(resultsDeps, messages, 'completed job'),
      intervalMs: 100,
      log,
    });
  }

  /** A queued execution, as if queued `ageMs` ago. */
  async function queuedExecution(ageMs: number): Promise<number> {
    const id = await system.queueExecution(account.id, agentId);
    await system.db.query(`UPDATE executions SET queued_at = now() - make_interval(secs => $2) WHERE id = $1`, [id, ageMs / 1000]);
    return id;
  }

  async function dispatchedExecution(ageMs: number): Promise<number> {
    const id = await queuedExecution(ageMs);
    await store.markDispatchedMany([{ id, pool: 'standard' }]);
    return id;
  }

  const statusOf = async (id: number) => (await store.getById(id))!;

  it('enqueues again a queued execution whose intake job was lost', async () => {
    const id = await queuedExecution(10_000);
    startSweeper();
    const jobs = await waitFor(() => intake.getJobs(['wait']), (j) => j.length > 0, { what: 'an intake job' });
    assert.deepEqual(intakeJobSchema.parse(jobs[0]!.data).executionIds, [id]);
  });

  it('leaves alone a queued execution behind an older intake job still waiting', async () => {
    const backlog = await intake.add('intake', { executionIds: [999_999] });
    await redis.hset(intake.toKey(backlog.id!), 'timestamp', String(Date.now() - 20_000));
    const id = await queuedExecution(10_000);
    startSweeper();
    await new Promise((r) => setTimeout(r, 500));
    const jobs = await intake.getJobs(['wait']);
    assert.deepEqual(jobs.map((j) => intakeJobSchema.parse(j.data).executionIds), [[999_999]], `execution ${id} is behind the backlog, not lost`);
  });

  it('persists the result held by a completed job whose report never arrived', async () => {
    const id = await dispatchedExecution(10_000);
    const ending: NodeMessage = {
      type: 'finished',
      executionId: id,
      accountId: account.id,
      agentId,
      nodeId: 'vanished-node',
      at: new Date().toISOString(),
      attempt: 1,
      startedAt: new Date(Date.now() - 5).toISOString(),
      result: { status: 'completed', output: { saved: true }, error: null, resource_usage: { cpu_ms: 1 }, host_call_audit: [], logs: [], violation_count: 0, was_terminated: false, duration_ms: 1 },
    };
    // A node that completed the job (its return value is the message) and died before reporting.
    await exec.add('execute', { any: 'thing' }, { jobId: executionJobId(id) });
    const worker = new Worker(exec.name, async () => ending, { connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }), prefix: system.redisPrefix });
    await waitFor(() => exec.getJobState(executionJobId(id)), (s) => s === 'completed', { what: 'the job to complete' });
    await worker.close();
    // Completed long enough ago that its report should have landed.
    await redis.hset(exec.toKey(executionJobId(id)), 'finishedOn', String(Date.now() - 60_000));
    startSweeper();
    const row = await waitFor(() => statusOf(id), (r) => r.status === 'completed', { what: 'the recovered result' });
    assert.deepEqual(row.output, { saved: true });
    assert.equal(row.node_id, 'vanished-node');
    assert.equal(row.attempts, 1);
    assert.ok(row.started_at, 'the start is recorded with the end');
    const events = (await system.db.query(`SELECT event->>'action_type' AS type FROM audit_outbox WHERE (event->>'execution_id')::bigint = $1 ORDER BY id`, [id])) as { type: string }[];
    assert.deepEqual(events.map((e) => e.type), ['execution_queued', 'execution_started', 'execution_completed']);
  });

  it('does not touch an execution whose job completed moments ago (its report is on its way)', async () => {
    const id = await dispatchedExecution(10_000);
    await exec.add('execute', {}, { jobId: executionJobId(id) });
    const worker = new Worker(exec.name, async () => ({ type: 'finished' }), { connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }), prefix: system.redisPrefix });
    await waitFor(() => exec.getJobState(executionJobId(id)), (s) => s === 'completed', { what: 'the job to complete' });
    await worker.close();
    startSweeper();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await statusOf(id)).status, 'dispatched');
  });

  it('ends node_lost an execution whose job failed for good, with the job\'s reason', async () => {
    const id = await dispatchedExecution(10_000);
    await exec.add('execute', {}, { jobId: executionJobId(id) });
    const worker = new Worker(
      exec.name,
      async () => {
        throw new Error('job stalled more than allowable limit');
      },
      { connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }), prefix: system.redisPrefix },
    );
    await waitFor(() => exec.getJobState(executionJobId(id)), (s) => s === 'failed', { what: 'the job to fail' });
    await worker.close();
    startSweeper();
    const row = await waitFor(() => statusOf(id), (r) => r.status === 'node_lost', { what: 'node_lost' });
    assert.equal(row.error?.code, 'node_lost');
    assert.match(row.error!.message, /stalled more than allowable limit/);
  });

  it('ends node_lost an execution whose job vanished, only once two sweeps missed it', async () => {
    const id = await dispatchedExecution(10_000);
    startSweeper();
    const row = await waitFor(() => statusOf(id), (r) => r.status === 'node_lost', { what: 'node_lost' });
    assert.match(row.error!.message, /disappeared from the queue/);
  });

  it('does not end node_lost an execution whose job vanished while an older node report waits, and does once it is gone', async () => {
    const id = await dispatchedExecution(10_000);
    // A report sent before the job left the queue (a scheduler outage's backlog): it may hold the ending.
    const report = await results.add('report', { messages: [] });
    startSweeper();
    await new Promise((r) => setTimeout(r, 800)); // several sweeps at 100 ms
    assert.equal((await statusOf(id)).status, 'dispatched');
    await report.remove();
    const row = await waitFor(() => statusOf(id), (r) => r.status === 'node_lost', { what: 'node_lost' });
    assert.match(row.error!.message, /disappeared from the queue/);
  });

  it('leaves a dispatched execution alone while its job waits', async () => {
    const id = await dispatchedExecution(10_000);
    await exec.add('execute', {}, { jobId: executionJobId(id) });
    startSweeper();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await statusOf(id)).status, 'dispatched');
  });
});

import assert from 'node:assert/strict';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../../../shared/config.ts';
import { QUEUES } from '../../../shared/execution/protocol.ts';
import { execQueue, executionJobId, INTAKE_JOBS_KEPT, intakeQueue } from '../../../shared/execution/queues.ts';
import { deleteRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from '../../helpers/test-redis.ts';
import { waitFor } from '../../helpers/wait-for.ts';

describe('exec and intake queue retention (real Redis)', function () {
  this.timeout(60_000);
  const prefix = testRedisPrefix('execqueue');
  const kept = 100;
  const config = loadConfig({ REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, SCHEDULER_EXEC_JOBS_KEPT: String(kept) });
  const connections: Redis[] = [];
  const connect = () => {
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    connections.push(redis);
    return redis;
  };
  after(async () => {
    connections.forEach((c) => c.disconnect());
    await deleteRedisPrefix(prefix);
  });

  it('keeps the newest SCHEDULER_EXEC_JOBS_KEPT completed jobs, with their return values, for at most an hour', async () => {
    const queue = execQueue(config, connect(), 'standard');
    const total = kept + 50;
    await queue.addBulk(Array.from({ length: total }, (_, i) => ({ name: 'execute', data: { i }, opts: { jobId: executionJobId(i + 1) } })));
    const first = await queue.getJob(executionJobId(1));
    assert.deepEqual(first?.opts.removeOnComplete, { age: 3600, count: kept });
    // Concurrency 1: jobs complete in the order added, so the first 50 are the oldest.
    const worker = new Worker(QUEUES.exec('standard'), async (job) => ({ ended: job.data.i }), { connection: connect(), prefix, concurrency: 1 });
    try {
      await waitFor(() => queue.getJob(executionJobId(total)).then((j) => j?.finishedOn), (finished) => finished !== undefined, { what: 'the last job to complete' });
    } finally {
      await worker.close();
    }
    assert.equal(await queue.getCompletedCount(), kept);
    assert.equal(await queue.getJob(executionJobId(50)), undefined, 'an older completed job is gone');
    const newest = await queue.getJob(executionJobId(total));
    assert.deepEqual(newest?.returnvalue, { ended: total - 1 }, 'a kept job still holds its ending for the sweeper');
    await queue.close();
  });

  it('keeps completed intake jobs for at most an hour and at most INTAKE_JOBS_KEPT', async () => {
    const queue = intakeQueue(config, connect());
    const job = await queue.add('intake', { executionIds: [1] });
    assert.deepEqual(job.opts.removeOnComplete, { age: 3600, count: INTAKE_JOBS_KEPT });
    await queue.close();
  });
});

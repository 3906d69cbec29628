// One executor node on its own, as a real process against Redis (no api, scheduler or
// database): trivial exec jobs are put straight on its pool queue, and the figure is how
// many it runs per second and what each costs in CPU, split between the node's main
// thread (BullMQ, halt reads, reports, hand-off) and its other threads (the sandbox runs,
// V8's garbage collector and compiler). This is the figure for sizing a fleet: the
// pipeline benchmark's executions/s is bounded by it when every process shares one
// machine. The reference is a raw BullMQ worker taking no-op jobs from the same queue at
// the same concurrency, measured in the same run.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../../shared/config.ts';
import { QUEUES, type ExecJob } from '../../shared/execution/protocol.ts';
import { resolveAgentPermissions } from '../../shared/permissions/agent-presets.ts';
import { resolveAgentConfig } from '../../shared/sandbox-templates.ts';
import { startProcess } from '../../test/helpers/processes.ts';
import { deleteRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from '../../test/helpers/test-redis.ts';
import { waitFor } from '../../test/helpers/wait-for.ts';
import { round, type Benchmark } from './benchmark.ts';
import { groupCpuMs, pidsNamed, processCpuMs, threadCpuMs } from './support/process-cpu.ts';

/** Runs before timing starts, so thread start-up and JIT warm-up are not counted. */
const WARMUP_JOBS = 300;
const BULK = 1000;
/** The node's sandbox threads, and so its jobs at once: the default (two per core); the reference uses the same. */
const POOL_SIZE = loadConfig({}).sandbox.poolSize;

function trivialJob(executionId: number): ExecJob {
  const resolved = resolveAgentConfig({});
  if (!resolved.ok) throw new Error(resolved.message);
  return {
    executionId,
    accountId: 1,
    agent: { id: 1, name: 'trivial', version: '1.0.0', entryCode: 'return 1;', config: resolved.config, permissions: resolveAgentPermissions('READONLY').scopes, swarm: null },
    input: {},
    context: {},
    dispatchedAt: new Date().toISOString(),
    awaited: false,
  };
}

async function addJobs(queue: Queue, from: number, count: number, data: (id: number) => unknown): Promise<void> {
  for (let i = 0; i < count; i += BULK) {
    const ids = Array.from({ length: Math.min(BULK, count - i) }, (_, j) => from + i + j);
    await queue.addBulk(ids.map((id) => ({ name: 'execute', data: data(id), opts: { jobId: `e${id}` } })));
  }
}

/** Waits until the queue holds no job waiting or running. */
async function drained(queue: Queue, what: string): Promise<void> {
  await waitFor(
    async () => queue.getJobCounts('wait', 'active', 'prioritized'),
    (c) => (c.wait ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0) === 0,
    { timeoutMs: 600_000, intervalMs: 10, what },
  );
}

/**
 * Jobs/s of a raw BullMQ worker taking no-op jobs at POOL_SIZE concurrency, and the CPU it
 * spent per job (this process, which otherwise only polls the queue's counts): what BullMQ
 * alone costs the node's main thread.
 */
async function rawWorker(n: number): Promise<{ rate: number; cpuMsPerJob: number }> {
  const prefix = testRedisPrefix('benchrawnode');
  const connections = [0, 1].map(() => new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }));
  const queue = new Queue('raw', { connection: connections[0]!, prefix });
  try {
    await addJobs(queue, 1, n, (id) => ({ id }));
    const start = performance.now();
    const cpuBefore = process.cpuUsage();
    const worker = new Worker('raw', async () => 1, { connection: connections[1]!, prefix, concurrency: POOL_SIZE });
    await drained(queue, 'the raw worker');
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    await worker.close();
    return { rate: n / seconds, cpuMsPerJob: (cpu.user + cpu.system) / 1000 / n };
  } finally {
    await queue.close();
    connections.forEach((c) => c.disconnect());
    await deleteRedisPrefix(prefix);
  }
}

const benchmark: Benchmark = {
  name: 'executor-node',
  description: 'one executor node alone: trivial exec jobs/s and CPU per execution (size: BENCH_NODE_EXECUTIONS)',
  async run(settings) {
    const n = settings.nodeExecutions;
    const prefix = testRedisPrefix('benchnode');
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    // Kept after completion as the scheduler's exec queues keep them (execQueue), so the
    // node's completions cost what they cost in production.
    const queue = new Queue(QUEUES.exec('standard'), { connection, prefix, defaultJobOptions: { removeOnComplete: { age: 3600 } } });
    const node = await startProcess(
      'executor-node/main.ts',
      { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, NODE_ID: 'bench-node', SANDBOX_POOL_SIZE: String(POOL_SIZE) },
      'executor node started',
    );
    try {
      const pid = node.child.pid!;
      await addJobs(queue, 1_000_000, WARMUP_JOBS, trivialJob);
      await drained(queue, 'the warm-up jobs');
      // Queued first and timed from the first job taken, so the adding is not counted.
      await queue.pause();
      await addJobs(queue, 1, n, trivialJob);
      const redisPids = pidsNamed('redis-server');
      const before = { node: processCpuMs(pid)!, main: threadCpuMs(pid, pid)!, redis: groupCpuMs(redisPids) };
      const start = performance.now();
      await queue.resume();
      await drained(queue, 'every exec job');
      const seconds = (performance.now() - start) / 1000;
      const nodeMs = (processCpuMs(pid)! - before.node) / n;
      const mainMs = (threadCpuMs(pid, pid)! - before.main) / n;
      const redisAfter = groupCpuMs(redisPids);
      const redisMs = before.redis === null || redisAfter === null ? null : (redisAfter - before.redis) / n;
      const raw = await rawWorker(n);
      const reference = `raw BullMQ worker, no-op jobs, concurrency ${POOL_SIZE}: ${round(raw.rate, 0)}/s`;
      return [
        { name: `executions/s (${n} trivial exec jobs, ${POOL_SIZE} sandbox threads)`, value: round(n / seconds, 0), unit: 'exec/s', reference, goal: '-', met: null },
        { name: 'CPU per execution: node, all threads', value: round(nodeMs, 2), unit: 'ms', reference: 'bounds one node to 1000 / this per core', goal: '-', met: null },
        { name: 'CPU per execution: node main thread', value: round(mainMs, 2), unit: 'ms', reference: `BullMQ, halt read, reports, hand-off; a raw BullMQ worker spends ${round(raw.cpuMsPerJob, 2)} ms per no-op job`, goal: '-', met: null },
        { name: 'CPU per execution: node other threads', value: round(nodeMs - mainMs, 2), unit: 'ms', reference: 'sandbox runs, V8 GC and compiler', goal: '-', met: null },
        ...(redisMs === null ? [] : [{ name: 'CPU per execution: redis', value: round(redisMs, 2), unit: 'ms', reference: 'every client of this Redis', goal: '-', met: null }]),
      ];
    } finally {
      await node.stop();
      await queue.close();
      connection.disconnect();
      await deleteRedisPrefix(prefix);
    }
  },
};

export default benchmark;

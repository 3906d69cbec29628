// Execution pipeline benchmarks, with api, scheduler and an executor node as real
// processes on this machine:
// - async throughput: 20,000 trivial executions submitted through the API, executions/s
//   until all are persisted, next to a raw BullMQ pipeline of the same two hops with
//   no-op jobs in the same run. Goal: >= 1,000/s and >= 0.35 of raw.
// - synchronous latency, one request at a time: p50 <= 10 ms, p99 <= 30 ms.
// - kill latency, from the kill request to the execution persisted terminated: p99 <= 50 ms.
// Every figure is taken on warm processes: BENCH_PIPELINE_WARMUP_EXECUTIONS async executions
// run first (and are waited out, audit trail included), because a process that has served
// only a few dozen requests still runs most of its code unoptimised (V8 optimises what is
// hot), which costs several times the CPU per execution and is not what a running
// deployment sees. The synchronous latency of the cold processes is printed too.
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { HttpClient } from '../../test/helpers/http-client.ts';
import { runTz, startProcess, type RunningProcess } from '../../test/helpers/processes.ts';
import { deleteRedisPrefix, TEST_REDIS_URL } from '../../test/helpers/test-redis.ts';
import { TestSystem } from '../../test/helpers/test-system.ts';
import { waitFor } from '../../test/helpers/wait-for.ts';
import { percentile, round, type Benchmark, type BenchRow } from './benchmark.ts';
import { KeepAliveClient } from './support/keep-alive-client.ts';
import { runLoad } from './support/load.ts';
import { CpuMeter, pidsNamed } from './support/process-cpu.ts';

/** Kills first run through paths the sync warm-up does not (termination, the halt write): not timed. */
const KILL_WARMUP = 3;


/**
 * A connection per BullMQ client; BullMQ leaves connections it was given open on close(),
 * so each raw run disconnects its own (or the benchmark process never exits).
 */
function connections(): { connection: () => Redis; disconnectAll: () => void } {
  const made: Redis[] = [];
  return {
    connection: () => {
      const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
      made.push(redis);
      return redis;
    },
    disconnectAll: () => made.forEach((redis) => redis.disconnect()),
  };
}

/**
 * Jobs/s of the raw pipeline, and the CPU each job cost: this process (both workers, the
 * producer) and Redis. Set beside the CPU per execution of ours, it says what the share
 * goal leaves for everything the product does on top of the two hops.
 */
async function rawBullmq(prefix: string, n: number): Promise<{ rate: number; cpuMsPerJob: number | null }> {
  const { connection, disconnectAll } = connections();
  const first = new Queue('raw-a', { connection: connection(), prefix });
  const second = new Queue('raw-b', { connection: connection(), prefix });
  let done = 0;
  const hop = new Worker('raw-a', async (job) => void (await second.add('b', job.data)), { connection: connection(), prefix, concurrency: 50 });
  const sink = new Worker('raw-b', async () => void done++, { connection: connection(), prefix, concurrency: 50 });
  const cpu = new CpuMeter({ raw: () => [process.pid], redis: () => pidsNamed('redis-server') });
  cpu.start();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i += 1000) await first.addBulk(Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ name: 'a', data: { i: i + j } })));
  await waitFor(async () => done, (d) => d >= n, { timeoutMs: 300_000, intervalMs: 20, what: 'the raw pipeline' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const perJob = cpu.perUnit(n);
  await Promise.all([hop.close(), sink.close(), first.close(), second.close()]);
  disconnectAll();
  await deleteRedisPrefix(prefix);
  return { rate: n / seconds, cpuMsPerJob: perJob.length === 2 ? perJob[0]!.ms + perJob[1]!.ms : null };
}

/** p50 of a raw BullMQ round trip: add a no-op job, wait until a worker has completed it. */
async function rawRoundTripP50(prefix: string, samples: number): Promise<number> {
  const { connection, disconnectAll } = connections();
  const queue = new Queue('raw-rt', { connection: connection(), prefix });
  const events = new QueueEvents('raw-rt', { connection: connection(), prefix });
  const worker = new Worker('raw-rt', async () => 1, { connection: connection(), prefix });
  await Promise.all([events.waitUntilReady(), worker.waitUntilReady()]);
  const times: number[] = [];
  for (let i = 0; i < samples + 10; i++) {
    const t = performance.now();
    await (await queue.add('rt', {})).waitUntilFinished(events);
    if (i >= 10) times.push(performance.now() - t);
  }
  await Promise.all([worker.close(), events.close(), queue.close()]);
  disconnectAll();
  await deleteRedisPrefix(prefix);
  return percentile(times, 50);
}

/** Latencies of `samples` synchronous executions, one at a time, over one keep-alive connection. */
async function syncLatencies(client: KeepAliveClient, agent: number, samples: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    const res = await client.post(`/api/v1/sdk/agents/${agent}/execute`, { input: {} });
    latencies.push(performance.now() - t);
    if (res.status !== 200 || res.body.status !== 'completed') throw new Error(`sync execution answered ${res.status} ${res.body.status ?? res.body.error?.code}`);
  }
  return latencies;
}

/** Submits `amount` async executions through the API with 50 connections; every one must be accepted. */
async function submitAsync(api: HttpClient, key: string, agent: number, amount: number): Promise<void> {
  const submitted = await runLoad({
    url: `${api.baseUrl}/api/v1/sdk/agents/${agent}/execute?async=true`,
    connections: 50,
    durationSeconds: 0,
    amount,
    method: 'POST',
    body: '{"input":{}}',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  });
  if (submitted.non2xx > 0) throw new Error(`${submitted.non2xx} submissions were refused`);
}

/** Waits until no execution is unfinished and no audit event waits in the outbox. */
async function settled(system: TestSystem): Promise<void> {
  await waitFor(
    async () => Number((await system.db.query(`SELECT (SELECT count(*) FROM executions WHERE finished_at IS NULL) + (SELECT count(*) FROM audit_outbox) AS n`))[0].n),
    (n) => n === 0,
    { timeoutMs: 600_000, intervalMs: 100, what: 'the system to settle' },
  );
}

/**
 * Writes out what PostgreSQL still holds dirty before a timed phase, so the phase pays for
 * its own writes rather than a previous benchmark's: after the audit and anchor benchmarks
 * (hundreds of thousands of rows) the checkpointer was still flushing them, and the async
 * figure fell from about 940/s to 770/s with PostgreSQL's CPU per execution tripled. Needs
 * the CHECKPOINT privilege (superuser or pg_checkpoint); without it the phase runs as is.
 */
async function flushPostgres(system: TestSystem): Promise<void> {
  await system.db.query('CHECKPOINT').catch(() => undefined);
}

/** Kill request -> execution persisted terminated, one spinning execution at a time, after warm-up kills. */
async function killLatencies(system: TestSystem, api: HttpClient, samples: number): Promise<number[]> {
  const spinner = (await api.post('/api/v1/sdk/agents', { name: 'spinner', entry_code: 'while (true) {}', config: { cpu_time_limit_ms: 60000 } })).body.agent.id as number;
  const kills: number[] = [];
  for (let i = 0; i < KILL_WARMUP + samples; i++) {
    await api.patch(`/api/v1/sdk/agents/${spinner}`, { status: 'ready' });
    const run = await api.post(`/api/v1/sdk/agents/${spinner}/execute?async=true`, { input: {} });
    const id = run.body.execution_id as number;
    await waitFor(() => api.get(`/api/v1/sdk/agents/${spinner}/executions/${id}`), (r) => r.body.status === 'running', { intervalMs: 10, what: 'the spinner to run' });
    const t = performance.now();
    await api.post(`/api/sdk/agents/${spinner}/kill`, { reason: 'bench' });
    await waitFor(
      async () => (await system.db.query(`SELECT status FROM executions WHERE id = $1`, [id]))[0].status as string,
      (s) => s === 'terminated',
      { intervalMs: 1, what: 'termination' },
    );
    if (i >= KILL_WARMUP) kills.push(performance.now() - t);
  }
  return kills;
}

const benchmark: Benchmark = {
  name: 'pipeline',
  description: 'async throughput, sync latency and kill latency (sizes: BENCH_PIPELINE_*)',
  async run(settings) {
    const {
      pipelineExecutions: EXECUTIONS,
      pipelineSyncSamples: SYNC_SAMPLES,
      pipelineKillSamples: KILL_SAMPLES,
      pipelineWarmupExecutions: WARMUP,
    } = settings;
    const system = await TestSystem.create('bench_pipeline');
    const nodes: RunningProcess[] = [];
    let client: KeepAliveClient | null = null;
    const rows: BenchRow[] = [];
    try {
      const account = await system.createAccount('bench');
      const raised = await runTz(['limits', 'set', '--account', 'bench', '--executions-per-minute', '1000000', '--concurrency', '100000'], system.env());
      if (raised.code !== 0) throw new Error(raised.stderr);
      const env = { LOG_LEVEL: 'warn', SCHEDULER_SWEEP_INTERVAL_MS: '2000' };
      const api = (await system.startApi({ ...env, LOG_LEVEL: 'info' })).withKey(account.adminKey);
      await system.startScheduler({ LOG_LEVEL: 'info' });
      nodes.push(await startProcess('executor-node/main.ts', system.env({ LOG_LEVEL: 'info', NODE_ID: 'bench-node' }), 'executor node started'));
      const agent = (await api.post('/api/v1/sdk/agents', { name: 'trivial', entry_code: 'return 1;' })).body.agent.id as number;
      const count = async () => Number((await system.db.query(`SELECT count(*) AS n FROM executions WHERE finished_at IS NOT NULL AND agent_id = $1`, [agent]))[0].n);
      // Polled while the run goes: a few index probes (executions_agent_status_idx). Counting
      // finished rows instead read every execution of the agent on each poll, 9 ms of
      // PostgreSQL CPU each time, charged to the system it measures.
      const unfinished = async () =>
        (await system.db.query(`SELECT EXISTS (SELECT 1 FROM executions WHERE agent_id = $1 AND status IN ('queued', 'dispatched', 'running')) AS u`, [agent]))[0].u as boolean;

      const node = nodes[0]!;
      const meter = () =>
        new CpuMeter({
          'executor node': () => (node.child.pid === undefined ? [] : [node.child.pid]),
          postgresql: () => pidsNamed('postgres'),
          scheduler: () => system.pidsOf('scheduler/main.ts'),
          redis: () => pidsNamed('redis-server'),
          api: () => system.pidsOf('api/main.ts'),
          // The load generator shares the machine's cores with the system it measures.
          'benchmark process': () => [process.pid],
        });
      const total = (perUnit: { ms: number }[]) => round(perUnit.reduce((a, c) => a + c.ms, 0), 2);

      // Cold: the processes have served only 30 executions.
      for (let i = 0; i < 30; i++) await api.post(`/api/v1/sdk/agents/${agent}/execute`, { input: {} });
      client = new KeepAliveClient(api.baseUrl, account.adminKey);
      const cold = await syncLatencies(client, agent, Math.min(SYNC_SAMPLES, 300));
      // Warm-up, then the synchronous latency, one at a time, on the system at rest.
      if (WARMUP > 0) {
        await submitAsync(api, account.adminKey, agent, WARMUP);
        await settled(system);
      }
      await flushPostgres(system);
      const syncCpu = meter();
      syncCpu.start();
      const latencies = await syncLatencies(client, agent, SYNC_SAMPLES);
      const syncCpuPerExecution = syncCpu.perUnit(SYNC_SAMPLES);
      const rawRoundTrip = await rawRoundTripP50(`${system.redisPrefix}-rt`, Math.min(SYNC_SAMPLES, 200));
      const rawRef = `raw BullMQ round trip p50 ${round(rawRoundTrip, 2)} ms`;
      const warmNote = `${rawRef}; one keep-alive connection (node:http); after ${WARMUP} warm-up executions`;
      rows.push(
        { name: 'sync execute latency p50', value: round(percentile(latencies, 50), 2), unit: 'ms', reference: warmNote, goal: '<= 10 ms', met: percentile(latencies, 50) <= 10 },
        { name: 'sync execute latency p99', value: round(percentile(latencies, 99), 2), unit: 'ms', reference: warmNote, goal: '<= 30 ms', met: percentile(latencies, 99) <= 30 },
        {
          // The issue set 10 ms where a raw BullMQ round trip took about 1.3 ms: on a slower
          // hour both move together, and this ratio says how the p50 stands once that is
          // taken out. Informational: the goal row above is the goal.
          name: 'sync execute latency p50 in raw BullMQ round trips',
          value: round(percentile(latencies, 50) / rawRoundTrip, 1),
          unit: 'x',
          reference: `the goal's own ratio: 10 ms over the 1.3 ms round trip it was set against, 7.7x`,
          goal: 'informational',
          met: null,
        },
        {
          name: 'sync execute latency p50, cold processes',
          value: round(percentile(cold, 50), 2),
          unit: 'ms',
          reference: `p99 ${round(percentile(cold, 99), 2)} ms; the first ${cold.length} after 30 executions`,
          goal: '-',
          met: null,
        },
        {
          // Every hop of a lone execution wakes a process: far more CPU than under load.
          name: 'sync CPU per execution, all processes',
          value: total(syncCpuPerExecution),
          unit: 'ms',
          reference: syncCpuPerExecution.map(({ name, ms }) => `${name} ${round(ms, 2)}`).join(', '),
          goal: '-',
          met: null,
        },
      );

      // Kill latency, kill request -> execution persisted terminated, on the system at rest
      // (as the sync latency): measured after the async run, it would time the recorder's
      // catching up on 60,000 audit events rather than the kill path.
      const kills = await killLatencies(system, api, KILL_SAMPLES);
      rows.push({ name: 'kill -> persisted terminated p99', value: round(percentile(kills, 99), 1), unit: 'ms', reference: `p50 ${round(percentile(kills, 50), 1)} ms over ${KILL_SAMPLES} kills`, goal: '<= 50 ms', met: percentile(kills, 99) <= 50 });

      // Async throughput: submissions through the API until every execution is persisted.
      // The raw pipeline runs right before and right after, and the share is taken against
      // their mean: this machine's speed drifts by a fifth within minutes, and one raw run
      // on one side moved the share by as much.
      const rawBefore = await rawBullmq(`${system.redisPrefix}-raw1`, EXECUTIONS);
      await flushPostgres(system);
      const cpu = meter();
      cpu.start();
      const before = await count();
      const start = process.hrtime.bigint();
      await submitAsync(api, account.adminKey, agent, EXECUTIONS);
      await waitFor(unfinished, (u) => !u, { timeoutMs: 600_000, intervalMs: 100, what: 'every execution to be persisted' });
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const persisted = (await count()) - before;
      if (persisted !== EXECUTIONS) throw new Error(`${persisted} of ${EXECUTIONS} executions were persisted`);
      const rate = EXECUTIONS / seconds;
      const cpuPerExecution = cpu.perUnit(EXECUTIONS);
      const rawAfter = await rawBullmq(`${system.redisPrefix}-raw2`, EXECUTIONS);
      const raw = (rawBefore.rate + rawAfter.rate) / 2;
      const rawCpuMs = rawBefore.cpuMsPerJob === null || rawAfter.cpuMsPerJob === null ? null : (rawBefore.cpuMsPerJob + rawAfter.cpuMsPerJob) / 2;
      const reference = `raw BullMQ two hops, no-op jobs: ${round(raw, 0)}/s (${round(rawBefore.rate, 0)} before, ${round(rawAfter.rate, 0)} after)`;
      // Both runs are bound by the same two cores, so the share is about the ratio of CPU
      // per item: this says how much the goal leaves per execution, next to what ours took.
      const budget =
        rawCpuMs === null
          ? reference
          : `${reference} at ${round(rawCpuMs, 3)} ms CPU per job (producer, workers, Redis); 0.35 of it leaves ${round(rawCpuMs / 0.35, 2)} ms per execution in all, ours took ${total(cpuPerExecution)} ms`;
      rows.push(
        { name: `async throughput (${EXECUTIONS} via API, until persisted)`, value: round(rate, 0), unit: 'exec/s', reference, goal: '>= 1,000/s', met: rate >= 1000 },
        { name: 'async throughput share of raw BullMQ', value: round(rate / raw, 2), unit: 'x', reference: budget, goal: '>= 0.35', met: rate / raw >= 0.35 },
        // Where the CPU of the async run went (no goal): the sum bounds executions/s per core.
        ...cpuPerExecution.map(({ name, ms }) => ({ name: `async CPU per execution: ${name}`, value: round(ms, 2), unit: 'ms', reference: `total ${total(cpuPerExecution)} ms`, goal: '-', met: null })),
      );

      return rows;
    } finally {
      client?.close();
      await Promise.all(nodes.map((n) => n.stop()));
      await system.stop();
    }
  },
};

export default benchmark;

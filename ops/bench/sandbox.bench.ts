// Sandbox runtime figures, each next to its reference measured in this same run:
// sandbox start in a warm thread (vs bare QuickJS, vm.createContext, a fresh worker thread),
// executions per second through the pool (vs bare Piscina tasks that only create and dispose
// a QuickJS context), guest -> host -> guest round trips, and the RSS of an idle pool.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { Piscina } from 'piscina';
import { SandboxPool } from '../../executor-node/sandbox/sandbox-pool.ts';
import { loadConfig } from '../../shared/config.ts';
import { resolveAgentConfig } from '../../shared/sandbox-templates.ts';
import { percentile, round, type Benchmark, type BenchRow, type BenchSettings } from './benchmark.ts';
import type { InThreadFigures } from './support/sandbox-in-thread.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../..');
const THREADS = 2;
const IN_FLIGHT = 64;
const ROUND_SECONDS = 2;
const ROUNDS = 3;
const SPAWNS = 20;

const GOALS = { startP50Ms: 0.5, startVsSpawn: 100, perSecond: 3000, shareOfBare: 0.65, roundTrips: 50_000, idleRssMb: 150 };

const median = (samples: readonly number[]): number => percentile(samples, 50);

async function inThreadFigures(): Promise<InThreadFigures> {
  const worker = new Worker(path.join(here, 'support/sandbox-in-thread.cjs'));
  const [message] = (await once(worker, 'message')) as [{ ok: boolean; figures?: InThreadFigures; error?: string }];
  await worker.terminate();
  if (!message.ok) throw new Error(`in-thread sandbox bench failed: ${message.error}`);
  return message.figures!;
}

/**
 * The product page's approach: a fresh worker thread per execution, a vm context with a
 * thetazero bridge over postMessage. Spawned as this process spawns any worker (inheriting
 * its execArgv, which under `npm run bench` preloads tsx), and once more with an empty
 * execArgv, the floor a worker spawn can reach.
 */
async function workerSpawnMs(execArgv?: string[]): Promise<number[]> {
  const samples: number[] = [];
  const file = path.join(here, 'support/sandbox-spawn-reference.cjs');
  const workerData = { code: 'await thetazero.write_result({ doubled: input.n * 2 })', input: { n: 21 } };
  for (let i = 0; i < SPAWNS + 2; i++) {
    const started = performance.now();
    const worker = new Worker(file, { workerData, execArgv });
    await new Promise<void>((resolve, reject) => {
      worker.on('error', reject);
      worker.on('message', (message: { type: string; id?: number }) => {
        if (message.type === 'call') worker.postMessage({ id: message.id, value: null });
        if (message.type === 'done') resolve();
      });
    });
    if (i >= 2) samples.push(performance.now() - started);
    await worker.terminate();
  }
  return samples;
}

async function perSecond(submit: (n: number) => Promise<void>, seconds: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (performance.now() < deadline) {
      await submit(next++);
      done += 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return done / ((performance.now() - started) / 1000);
}

async function idlePoolRss(childEnv: BenchSettings['childEnv']): Promise<{ beforeMb: number; idleMb: number; threads: number }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', path.join(here, 'support/sandbox-idle-rss.ts')],
    { cwd: ROOT, env: { ...childEnv, LOG_LEVEL: 'silent' } },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { beforeMb: number; idleMb: number; threads: number };
}

const sandbox: Benchmark = {
  name: 'sandbox',
  description: 'QuickJS sandbox start, pool throughput, host round trips and idle memory, each next to its reference',
  async run(settings): Promise<BenchRow[]> {
    const idle = await idlePoolRss(settings.childEnv);
    const inThread = await inThreadFigures();
    const spawns = await workerSpawnMs();
    const bareSpawns = await workerSpawnMs([]);

    const resolved = resolveAgentConfig({});
    if (!resolved.ok) throw new Error(resolved.message);
    const agent = {
      name: 'bench',
      version: '1.0.0',
      entryCode: 'await thetazero.write_result({ doubled: input.n * 2 })',
      config: resolved.config,
      permissions: [],
    };
    const pool = new SandboxPool({ settings: { ...loadConfig({}).sandbox, poolSize: THREADS }, logger: pino({ level: 'silent' }) });
    const bare = new Piscina({
      filename: pathToFileURL(path.join(here, 'support/sandbox-bare-task.cjs')).href,
      minThreads: THREADS,
      maxThreads: THREADS,
      idleTimeout: Number.POSITIVE_INFINITY,
    });
    const ours = async (n: number) => {
      const result = await pool.run({ executionId: n, agent, input: { n } });
      if (result.status !== 'completed' || result.host_call_audit.length !== 1) {
        throw new Error(`bench execution did not complete: ${JSON.stringify(result.error)}`);
      }
    };
    const reference = async () => {
      await bare.run({ code: '21 * 2' });
    };
    const oursRates: number[] = [];
    const bareRates: number[] = [];
    try {
      await perSecond(ours, 1);
      await perSecond(reference, 1);
      for (let i = 0; i < ROUNDS; i++) {
        oursRates.push(await perSecond(ours, ROUND_SECONDS));
        bareRates.push(await perSecond(reference, ROUND_SECONDS));
      }
    } finally {
      await pool.destroy();
      await bare.destroy();
    }

    const startP50 = median(inThread.sandboxStartMs);
    const startP99 = percentile(inThread.sandboxStartMs, 99);
    const spawnP50 = median(spawns);
    const bareP50 = median(inThread.bareQuickJsMs);
    const vmP50 = median(inThread.vmContextMs);
    const oursRate = median(oursRates);
    const bareRate = median(bareRates);
    const share = oursRate / bareRate;
    const startReference =
      `bare QuickJS runtime+context+eval+dispose p50 ${round(bareP50, 3)} ms (p99 ${round(percentile(inThread.bareQuickJsMs, 99), 3)}); ` +
      `vm.createContext p50 ${round(vmP50, 3)} ms; fresh worker thread + vm context + bridge (product page) p50 ${round(spawnP50, 1)} ms ` +
      `(p99 ${round(percentile(spawns, 99), 1)}), ${round(spawnP50 / startP50, 0)}x our p50; the same with an empty execArgv ` +
      `p50 ${round(median(bareSpawns), 1)} ms, ${round(median(bareSpawns) / startP50, 0)}x`;
    return [
      {
        name: 'sandbox start p50 (runtime + context + host API + trivial script + dispose, warm thread)',
        value: round(startP50, 3),
        unit: 'ms',
        reference: startReference,
        goal: `<= ${GOALS.startP50Ms} ms and >= ${GOALS.startVsSpawn}x faster than a fresh worker`,
        met: startP50 <= GOALS.startP50Ms && spawnP50 / startP50 >= GOALS.startVsSpawn,
      },
      {
        name: 'sandbox start p99',
        value: round(startP99, 3),
        unit: 'ms',
        reference: startReference,
        goal: 'informational',
        met: null,
      },
      {
        name: `trivial executions through the pool (${THREADS} threads; input in, result and audit out)`,
        value: Math.round(oursRate),
        unit: 'exec/s',
        reference: `bare Piscina tasks creating and disposing a QuickJS context: ${Math.round(bareRate)}/s; ours is ${round(share, 2)} of it`,
        goal: `>= ${GOALS.perSecond}/s and >= ${GOALS.shareOfBare} of bare`,
        met: oursRate >= GOALS.perSecond && share >= GOALS.shareOfBare,
      },
      {
        name: 'guest -> host -> guest round trips (no-op async host function)',
        value: Math.round(inThread.noopRoundTripsPerSecond),
        unit: 'calls/s',
        reference: `awaited thetazero.write_result (policy check + audit entry each): ${Math.round(inThread.writeResultRoundTripsPerSecond)}/s`,
        goal: `>= ${GOALS.roundTrips}/s`,
        met: inThread.noopRoundTripsPerSecond >= GOALS.roundTrips,
      },
      {
        name: `RSS of a process holding an idle pool of ${idle.threads} threads`,
        value: round(idle.idleMb, 1),
        unit: 'MB',
        reference: `same process before the pool: ${round(idle.beforeMb, 1)} MB (pool share ${round(idle.idleMb - idle.beforeMb, 1)} MB)`,
        goal: `< ${GOALS.idleRssMb} MB`,
        met: idle.idleMb < GOALS.idleRssMb,
      },
    ];
  },
};

export default sandbox;

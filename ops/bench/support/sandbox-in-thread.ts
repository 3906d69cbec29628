// The sandbox figures that must be taken inside a warm worker thread: a full sandbox
// start (fresh runtime + context + the whole host API + trivial script + dispose) next to
// a bare QuickJS start and vm.createContext(), and guest -> host -> guest round trips.
// Loaded by sandbox-in-thread.cjs, which posts the result back.
import vm from 'node:vm';
import { createHostApi } from '../../../executor-node/host-api/host-api.ts';
import { RunLedger } from '../../../executor-node/host-api/run-ledger.ts';
import { GuestRun, type GuestRunOptions } from '../../../executor-node/sandbox/guest-run.ts';
import type { HostFunctionSpec } from '../../../executor-node/sandbox/host-function.ts';
import { QuickJsInstancePool } from '../../../executor-node/sandbox/quickjs-instance.ts';
import { loadConfig } from '../../../shared/config.ts';
import { AddressPolicy } from '../../../shared/net/address-policy.ts';
import { guardedHttpsRequest } from '../../../shared/net/guarded-https-client.ts';
import { runLimitsFor } from '../../../executor-node/sandbox/run-limits.ts';
import { resolveAgentConfig } from '../../../shared/sandbox-templates.ts';

export interface InThreadFigures {
  readonly sandboxStartMs: readonly number[];
  readonly bareQuickJsMs: readonly number[];
  readonly vmContextMs: readonly number[];
  readonly noopRoundTripsPerSecond: number;
  readonly writeResultRoundTripsPerSecond: number;
}

const START_SAMPLES = 3000;
const WARMUP = 500;
const ROUND_TRIPS = 100_000;

function timeEach(count: number, work: () => void): number[] {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    work();
    samples.push(performance.now() - started);
  }
  return samples;
}

async function timeEachAsync(count: number, work: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  return samples;
}

export async function measureInThread(): Promise<InThreadFigures> {
  const settings = loadConfig({}).sandbox;
  const resolved = resolveAgentConfig({});
  if (!resolved.ok) throw new Error(resolved.message);
  const limits = runLimitsFor(resolved.config, settings);
  const policy = new AddressPolicy([]);
  const instances = new QuickJsInstancePool();

  /** Everything an executor-node run sets up: ledger, policy gate, all four host functions. */
  const fullRun = async (code: string, extra: HostFunctionSpec[] = [], timeLimitMs = limits.timeLimitMs) => {
    const ledger = new RunLedger({ maxHostCalls: 1_000_000, maxLogLines: limits.maxLogLines, maxLogBytes: limits.maxLogBytes });
    const hostFunctions = createHostApi({
      grant: { scopes: ['data:read'], allowNetwork: false, allowedDomains: [], maxApiCallsPerRun: limits.maxApiCallsPerRun },
      ledger,
      limits,
      http: (request, allowHost, signal) =>
        guardedHttpsRequest(request, { policy, allowHost, signal, timeoutMs: limits.httpTimeoutMs, maxResponseBytes: limits.httpMaxResponseBytes }),
      readContext: async () => null,
    });
    const instance = await instances.acquire();
    const options: GuestRunOptions = {
      code,
      inputJson: '{"n":21}',
      identity: { agentName: 'bench', agentVersion: '1.0.0', executionId: 1 },
      hostFunctions: [...hostFunctions, ...extra],
      memoryLimitBytes: limits.memoryLimitBytes,
      maxStackBytes: limits.maxStackBytes,
      timeLimitMs,
      maxPendingHostCalls: limits.maxPendingHostCalls,
      maxOutputBytes: limits.maxOutputBytes,
    };
    const outcome = await new GuestRun(instance, options).execute();
    instances.release(instance);
    if (outcome.end.kind !== 'returned') throw new Error(`bench run failed: ${JSON.stringify(outcome.end)}`);
    return outcome;
  };

  const trivial = () => fullRun('return input.n * 2').then(() => undefined);
  await timeEachAsync(WARMUP, trivial);
  const sandboxStartMs = await timeEachAsync(START_SAMPLES, trivial);

  const { module } = await instances.acquire();
  const bare = () => {
    const runtime = module.newRuntime();
    const ctx = runtime.newContext();
    const result = ctx.evalCode('21 * 2');
    (result.error ?? result.value!).dispose();
    ctx.dispose();
    runtime.dispose();
  };
  timeEach(WARMUP, bare);
  const bareQuickJsMs = timeEach(START_SAMPLES, bare);

  const fromVm = () => {
    const ctx = vm.createContext({ input: { n: 21 } });
    vm.runInContext('input.n * 2', ctx);
  };
  timeEach(50, fromVm);
  const vmContextMs = timeEach(500, fromVm);

  const noop: HostFunctionSpec = { name: 'noop', mode: 'async', maxArgBytes: 64, invoke: () => Promise.resolve(undefined) };
  const loop = (call: string, count: number) => `for (let i = 0; i < ${count}; i++) await ${call}; return 1`;
  const rate = async (call: string, extra: HostFunctionSpec[]) => {
    const started = performance.now();
    await fullRun(loop(call, ROUND_TRIPS), extra, 120_000);
    return ROUND_TRIPS / ((performance.now() - started) / 1000);
  };
  await fullRun(loop('thetazero.noop()', 5000), [noop]);
  await fullRun(loop('thetazero.write_result(i)', 5000));
  const noopRates: number[] = [];
  const writeRates: number[] = [];
  for (let round = 0; round < 3; round++) {
    noopRates.push(await rate('thetazero.noop()', [noop]));
    writeRates.push(await rate('thetazero.write_result(i)', []));
  }
  // Best of three: the figure is what the bridge can do, not what a busy machine allowed once.
  const noopRoundTripsPerSecond = Math.max(...noopRates);
  const writeResultRoundTripsPerSecond = Math.max(...writeRates);

  return { sandboxStartMs, bareQuickJsMs, vmContextMs, noopRoundTripsPerSecond, writeResultRoundTripsPerSecond };
}

// Thread side of the sandbox pool: a Piscina task handler that runs one execution per
// task. Holds what outlives a run in this thread: the QuickJS instance, the SSRF policy
// and the side channel to the pool (context reads, live events, stop requests).
// Loaded through sandbox-thread.cjs, so no top-level await here.
//
// The pool parses everything a thread sends (messages.ts), since a thread runs hostile
// code. The other way round, the sender is this process's own main thread over a port
// nobody else holds, so the thread takes its tasks as typed and does not load zod at
// all: that keeps about 10 MB off every idle thread.
import { MessageChannel, parentPort, workerData } from 'node:worker_threads';
import { AddressPolicy } from '../../shared/net/address-policy.ts';
import { guardedHttpsRequest } from '../../shared/net/guarded-https-client.ts';
import { API_CALL_FUNCTIONS, type HostFunctionName } from '../../shared/permissions/check-host-call.ts';
import { createHostApi } from '../host-api/host-api.ts';
import { RunLedger } from '../host-api/run-ledger.ts';
import { GuestRun, type GuestOutcome } from './guest-run.ts';
import type { PoolMessage, RunTask, ThreadHello, ThreadMessage, ThreadRunResult, ThreadSettings } from './messages.ts';
import { QuickJsInstancePool } from './quickjs-instance.ts';
import { terminatedStop, violationKindOf } from './run-stop.ts';

const settings = workerData as ThreadSettings;
const policy = new AddressPolicy(settings.trustedCidrs);
const instances = new QuickJsInstancePool();

// Slot indexes, as THREAD_SLOT in messages.ts (not imported: that module loads zod).
const STOP = 0;
const RUNNING = 1;

const channel = new MessageChannel();
const shared = new SharedArrayBuffer(16);
const slots = new Int32Array(shared, 0, 2);
const startedAt = new Float64Array(shared, 8, 1);
const contextRequests = new Map<number, { resolve: (json: string | null) => void; reject: (err: Error) => void }>();
let requestSeq = 0;
let active: { runId: number; run: GuestRun } | null = null;

channel.port1.on('message', (message: PoolMessage) => {
  if (message.type === 'stop') {
    if (active?.runId === message.runId) active.run.requestStop(terminatedStop(message.reason));
    return;
  }
  const pending = contextRequests.get(message.requestId);
  if (!pending) return;
  contextRequests.delete(message.requestId);
  if (message.type === 'context_value') pending.resolve(message.json);
  else pending.reject(new Error('context store unavailable'));
});
channel.port1.unref();
const hello: ThreadHello = { kind: 'tz-sandbox-thread-hello', port: channel.port2, slots, startedAt };
parentPort?.postMessage(hello, [channel.port2]);

function post(message: ThreadMessage): void {
  channel.port1.postMessage(message);
}

function readContext(runId: number, key: string, signal: AbortSignal): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const requestId = ++requestSeq;
    const onAbort = () => {
      contextRequests.delete(requestId);
      reject(new Error('run ended'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    contextRequests.set(requestId, {
      resolve: (json) => {
        signal.removeEventListener('abort', onAbort);
        resolve(json);
      },
      reject: (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    });
    post({ type: 'context_read', runId, requestId, key });
  });
}

export default async function runSandboxTask(task: RunTask): Promise<ThreadRunResult> {
  startedAt[0] = performance.timeOrigin + performance.now();
  Atomics.store(slots, RUNNING, task.runId);
  try {
    return await execute(task);
  } finally {
    Atomics.store(slots, RUNNING, 0);
    // After Piscina has posted this result (it does so in the microtasks that follow): free
    // this run's runtime and build the next one while the thread waits for work.
    setImmediate(() => instances.prepareNext());
  }
}

async function execute(task: RunTask): Promise<ThreadRunResult> {
  const limits = { ...settings.limits, ...task.limits };
  const ledger = new RunLedger(
    { maxHostCalls: limits.maxHostCalls, maxLogLines: limits.maxLogLines, maxLogBytes: limits.maxLogBytes },
    Date.now,
    (event) => {
      // Calls that left the thread and violations reach the pool at once, so a thread
      // killed mid-run still leaves them behind; the rest rides with the result unless
      // the caller asked for live events.
      if (task.liveEvents || event.type === 'violation' || (event.type === 'host_call' && API_CALL_FUNCTIONS.has(event.entry.fn as HostFunctionName))) {
        post({ type: 'event', runId: task.runId, event });
      }
    },
  );
  const hostFunctions = createHostApi({
    grant: { ...task.grant, maxApiCallsPerRun: limits.maxApiCallsPerRun },
    ledger,
    limits,
    http: (request, allowHost, signal) =>
      guardedHttpsRequest(request, {
        policy,
        allowHost,
        signal,
        timeoutMs: limits.httpTimeoutMs,
        maxResponseBytes: limits.httpMaxResponseBytes,
      }),
    readContext: (key, signal) => readContext(task.runId, key, signal),
  });
  const instance = await instances.acquire();
  const run = new GuestRun(instance, {
    code: task.code,
    inputJson: task.inputJson,
    identity: { agentName: task.agentName, agentVersion: task.agentVersion, executionId: task.executionId },
    hostFunctions,
    memoryLimitBytes: limits.memoryLimitBytes,
    maxStackBytes: limits.maxStackBytes,
    timeLimitMs: limits.timeLimitMs,
    maxPendingHostCalls: limits.maxPendingHostCalls,
    maxOutputBytes: limits.maxOutputBytes,
    externalStop: () => (Atomics.load(slots, STOP) === task.runId ? terminatedStop() : null),
  });
  active = { runId: task.runId, run };
  let outcome: GuestOutcome;
  try {
    outcome = await run.execute();
  } finally {
    active = null;
    instances.release(instance);
  }
  return toThreadResult(task, ledger, outcome);
}

export function toThreadResult(task: Pick<RunTask, 'runId'>, ledger: RunLedger, outcome: GuestOutcome): ThreadRunResult {
  const { end } = outcome;
  const base = {
    runId: task.runId,
    cpuMs: Math.round(outcome.cpuMs * 1000) / 1000,
    memoryBytes: outcome.memoryBytes,
    apiCalls: ledger.apiCalls,
    hostCalls: ledger.hostCalls,
    faultDetail: outcome.faultDetail,
  };
  if (end.kind === 'returned') {
    return {
      ...base,
      status: 'completed',
      outputJson: end.outputJson ?? ledger.outputJson,
      error: null,
      audit: ledger.audit,
      logs: ledger.logs,
      violations: ledger.violations,
      eventOrder: ledger.order.join(''),
    };
  }
  const kind = violationKindOf(end.stop);
  if (kind) ledger.recordViolation(kind, end.stop.code, end.stop.message, end.stop.fn ?? null);
  return {
    ...base,
    status: end.stop.status,
    outputJson: ledger.outputJson,
    error: { code: end.stop.code, message: end.stop.message, stack: end.stack },
    audit: ledger.audit,
    logs: ledger.logs,
    violations: ledger.violations,
    eventOrder: ledger.order.join(''),
  };
}

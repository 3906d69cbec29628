// Pool side of the sandbox: a Piscina pool of sandbox threads and everything the
// executor node needs around it. Validates the request, hands the run to a thread,
// answers the thread's context reads, relays live events, and owns layer three of the
// limits: a kill timer that terminates a thread whose run does not end in time (Piscina
// then replaces the thread). Everything coming back from a thread is parsed first.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { SandboxSettings } from '../../shared/config.ts';
import { ConfigError, errors } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { AddressPolicy, InvalidCidrError } from '../../shared/net/address-policy.ts';
import { API_CALL_FUNCTIONS, type HostFunctionName } from '../../shared/permissions/check-host-call.ts';
import {
  THREAD_SLOT,
  poolMessageSchema,
  threadHelloSchema,
  threadMessageSchema,
  threadRunResultSchema,
  type PoolMessage,
  type RunTask,
  type ThreadRunResult,
  type ThreadSettings,
} from './messages.ts';
import { agentLimits, operatorLimits, runLimitsFor, type RunLimits } from './run-limits.ts';
import { limitExceeded, terminatedStop, timedOut, violationKindOf, type RunStop } from './run-stop.ts';
import { nullContextReader, sandboxRequestSchema, type ContextReader, type SandboxRequest } from './sandbox-request.ts';
import type {
  HostCallAuditEntry,
  JsonValue,
  LogLine,
  SandboxEvent,
  SandboxResult,
  SandboxViolation,
} from './sandbox-result.ts';
import { parseUntrustedJson } from './untrusted-json.ts';

const THREAD_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sandbox-thread.cjs');
/** Native stack of each thread; QuickJS's own stack limit (SANDBOX_MAX_STACK_KB) must stay well below it. */
const THREAD_STACK_MB = 4;
const MAX_RUN_ID = 0x7fffffff;

export interface SandboxPoolOptions {
  readonly settings: SandboxSettings;
  readonly logger: Logger;
  /** The thread's entry file; tests substitute a thread that stops answering. */
  readonly threadEntry?: string;
}

interface ThreadChannel {
  readonly port: MessagePort;
  readonly slots: Int32Array;
  readonly startedAt: Float64Array;
}

interface RunState {
  readonly runId: number;
  readonly executionId: number;
  readonly limits: RunLimits;
  readonly contextReader: ContextReader;
  readonly onEvent: ((event: SandboxEvent) => void) | undefined;
  readonly abort: AbortController;
  readonly startedAt: number;
  killTimer: NodeJS.Timeout | null;
  /** How long the thread had been running this run when the kill timer fired. */
  killedAfterMs: number | null;
  /** Why the pool itself ended the run, if it did. */
  ending: RunStop | null;
  finished: boolean;
  readonly streamed: { audit: HostCallAuditEntry[]; logs: LogLine[]; violations: SandboxViolation[] };
}

export class SandboxPool {
  private readonly piscina: Piscina;
  private readonly settings: SandboxSettings;
  private readonly log: Logger;
  private readonly runs = new Map<number, RunState>();
  private readonly channels = new Set<ThreadChannel>();
  private runSeq = 0;
  private destroyed = false;

  constructor(options: SandboxPoolOptions) {
    this.settings = options.settings;
    this.log = options.logger.child({ component: 'sandbox-pool' });
    try {
      new AddressPolicy(this.settings.trustedCidrs);
    } catch (err) {
      if (err instanceof InvalidCidrError) throw new ConfigError(`configuration error: SANDBOX_TRUSTED_CIDRS ${err.message}`);
      throw err;
    }
    if (this.settings.trustedCidrs.length > 0) {
      this.log.warn(
        { trustedCidrs: this.settings.trustedCidrs },
        'SANDBOX_TRUSTED_CIDRS is set: sandboxed agents may reach these non-public networks',
      );
    }
    this.piscina = new Piscina({
      filename: pathToFileURL(options.threadEntry ?? THREAD_ENTRY).href,
      minThreads: this.settings.poolSize,
      maxThreads: this.settings.poolSize,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      // A thread's event loop keeps turning between tasks (Piscina's 'sync' mode blocks it
      // in Atomics.wait): that is when it frees the last run's runtime and builds the next.
      atomics: 'async',
      workerData: { trustedCidrs: [...this.settings.trustedCidrs], limits: operatorLimits(this.settings) } satisfies ThreadSettings,
      resourceLimits: { maxOldGenerationSizeMb: this.settings.threadHeapMb, stackSizeMb: THREAD_STACK_MB },
    });
    this.piscina.on('message', (message: unknown) => this.onThreadHello(message));
    // A thread that dies between tasks surfaces here; Piscina has already replaced it.
    this.piscina.on('error', (err: unknown) => this.log.error({ err }, 'sandbox thread failed outside a run'));
  }

  get threadCount(): number {
    return this.piscina.threads.length;
  }

  /** Runs one execution to its result. Rejects only for an invalid request or a destroyed pool. */
  async run(request: SandboxRequest): Promise<SandboxResult> {
    if (this.destroyed) throw errors.unavailable('the sandbox pool has been shut down');
    const parsed = sandboxRequestSchema.safeParse(request);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw errors.validation(issue.path.join('.') || 'request', issue.message);
    }
    const { executionId, agent } = parsed.data;
    const startedAt = performance.now();
    const limits = runLimitsFor(agent.config, this.settings);
    const inputJson = serializeInput(request.input);
    if (inputJson === null) throw errors.validation('input', 'must be a JSON-serializable value');
    if (Buffer.byteLength(inputJson, 'utf8') > this.settings.maxInputBytes) {
      const stop = limitExceeded('input_too_large', `the input exceeds ${this.settings.maxInputBytes} bytes`);
      return endedBeforeStart(executionId, stop, startedAt);
    }

    const state: RunState = {
      runId: this.nextRunId(),
      executionId,
      limits,
      contextReader: request.contextReader ?? nullContextReader,
      onEvent: request.onEvent,
      abort: new AbortController(),
      startedAt,
      killTimer: null,
      killedAfterMs: null,
      ending: null,
      finished: false,
      streamed: { audit: [], logs: [], violations: [] },
    };
    const task: RunTask = {
      runId: state.runId,
      executionId,
      agentName: agent.name,
      agentVersion: agent.version,
      code: agent.entryCode,
      inputJson,
      grant: {
        scopes: [...agent.permissions],
        allowNetwork: agent.config.allow_network,
        allowedDomains: [...agent.config.allowed_domains],
      },
      limits: agentLimits(agent.config),
      liveEvents: request.onEvent !== undefined,
    };
    this.runs.set(state.runId, state);
    this.armKillTimer(state, limits.timeLimitMs + this.settings.killGraceMs);
    try {
      const raw: unknown = await this.piscina.run(task, { signal: state.abort.signal });
      return this.fromThread(state, raw);
    } catch (err) {
      return this.afterThreadLoss(state, err);
    } finally {
      state.finished = true;
      if (state.killTimer) clearTimeout(state.killTimer);
      this.runs.delete(state.runId);
    }
  }

  /**
   * Stops every run of this execution from outside (kill switch). A queued run is dropped;
   * a running one is asked to stop (the guest is interrupted at its next check) and its
   * thread is killed if it has not ended within SANDBOX_KILL_GRACE_MS. The run's result
   * has status `terminated`. Returns whether any run of that execution was found.
   */
  terminate(executionId: number, reason = 'execution terminated from outside'): boolean {
    let found = false;
    for (const state of this.runs.values()) {
      if (state.executionId !== executionId || state.finished) continue;
      found = true;
      state.ending ??= terminatedStop(reason);
      const channel = this.channelRunning(state.runId);
      if (channel === null) {
        // Still queued: Piscina drops it without touching a thread.
        state.abort.abort();
        continue;
      }
      this.requestStop(state, channel, reason);
    }
    return found;
  }

  /** Ends every run (results report `terminated`) and stops the threads. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const state of this.runs.values()) {
      state.ending ??= terminatedStop('the sandbox pool shut down');
      state.abort.abort();
    }
    await this.piscina.destroy();
  }

  // ---- the side channel ----------------------------------------------------------------

  private onThreadHello(raw: unknown): void {
    const hello = threadHelloSchema.safeParse(raw);
    if (!hello.success) {
      this.log.warn('unexpected message from a sandbox thread');
      return;
    }
    const channel: ThreadChannel = { port: hello.data.port, slots: hello.data.slots, startedAt: hello.data.startedAt };
    this.channels.add(channel);
    channel.port.on('message', (message: unknown) => this.onThreadMessage(channel, message));
    channel.port.once('close', () => this.channels.delete(channel));
    channel.port.unref();
  }

  /** The thread executing this run, read from the shared slots; null while it is queued. */
  private channelRunning(runId: number): ThreadChannel | null {
    for (const channel of this.channels) {
      if (Atomics.load(channel.slots, THREAD_SLOT.RUNNING) === runId) return channel;
    }
    return null;
  }

  private onThreadMessage(channel: ThreadChannel, raw: unknown): void {
    const parsed = threadMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.log.warn('malformed message from a sandbox thread');
      return;
    }
    const message = parsed.data;
    const state = this.runs.get(message.runId);
    if (!state || state.finished) return;
    // A thread may only speak for the run it is executing. Under load this also drops the
    // last events of a run whose thread already cleared its slot before this port was read
    // (the slot is cleared as the run ends); emitRemaining replays those from the result,
    // so it is routine, not a warning.
    if (Atomics.load(channel.slots, THREAD_SLOT.RUNNING) !== message.runId) {
      this.log.debug({ executionId: state.executionId }, 'sandbox thread spoke for a run it does not hold');
      return;
    }
    if (message.type === 'context_read') {
      void this.answerContextRead(state, channel, message.requestId, message.key);
      return;
    }
    this.recordStreamed(state, message.event);
  }

  private async answerContextRead(state: RunState, channel: ThreadChannel, requestId: number, key: string): Promise<void> {
    let reply: PoolMessage;
    try {
      const value = await state.contextReader.read(key);
      reply = { type: 'context_value', runId: state.runId, requestId, json: value === null || value === undefined ? null : JSON.stringify(value) };
    } catch (err) {
      this.log.warn({ executionId: state.executionId, err }, 'context reader failed');
      reply = { type: 'context_error', runId: state.runId, requestId };
    }
    if (state.finished) return;
    channel.port.postMessage(poolMessageSchema.parse(reply));
  }

  private recordStreamed(state: RunState, event: SandboxEvent): void {
    if (event.type === 'log') state.streamed.logs.push(event.line);
    else if (event.type === 'host_call') state.streamed.audit.push(event.entry);
    else state.streamed.violations.push(event.violation);
    this.emit(state, event);
  }

  private emit(state: RunState, event: SandboxEvent): void {
    if (!state.onEvent) return;
    try {
      state.onEvent(event);
    } catch (err) {
      this.log.warn({ executionId: state.executionId, err }, 'sandbox event callback threw');
    }
  }

  // ---- stopping ------------------------------------------------------------------------

  private requestStop(state: RunState, channel: ThreadChannel, reason: string): void {
    // The flag reaches a guest spinning in a loop; the message reaches one waiting on I/O.
    Atomics.store(channel.slots, THREAD_SLOT.STOP, state.runId);
    channel.port.postMessage(poolMessageSchema.parse({ type: 'stop', runId: state.runId, reason }));
    if (state.killTimer) clearTimeout(state.killTimer);
    state.killTimer = setTimeout(() => state.abort.abort(), this.settings.killGraceMs);
  }

  /**
   * Layer three. The timer is armed at submission; time spent queued does not count, so
   * when it fires it measures from the start the thread recorded, and re-arms for what is left.
   */
  private armKillTimer(state: RunState, delayMs: number): void {
    state.killTimer = setTimeout(() => {
      if (state.finished || state.ending) return;
      const channel = this.channelRunning(state.runId);
      const budget = state.limits.timeLimitMs + this.settings.killGraceMs;
      if (channel === null) return this.armKillTimer(state, budget);
      const ranFor = Date.now() - channel.startedAt[0]!;
      if (ranFor < budget) return this.armKillTimer(state, budget - ranFor + 1);
      state.killedAfterMs = ranFor;
      this.killForTime(state);
    }, delayMs);
    state.killTimer.unref();
  }

  private killForTime(state: RunState): void {
    state.ending ??= {
      ...timedOut(state.limits.timeLimitMs),
      message: `cpu_time_limit_ms (${state.limits.timeLimitMs} ms) exceeded and the sandbox thread did not stop; it was replaced`,
    };
    this.log.warn({ executionId: state.executionId }, 'sandbox thread missed its deadline and was terminated');
    state.abort.abort();
  }

  // ---- results -------------------------------------------------------------------------

  private fromThread(state: RunState, raw: unknown): SandboxResult {
    const parsed = threadRunResultSchema.safeParse(raw);
    if (!parsed.success || parsed.data.runId !== state.runId) {
      this.log.error({ executionId: state.executionId }, 'sandbox thread returned a malformed result');
      return this.synthesize(state, sandboxFault());
    }
    const thread = parsed.data;
    if (thread.faultDetail) {
      this.log.error({ executionId: state.executionId, detail: thread.faultDetail }, 'sandbox engine fault');
    }
    const output = this.decodeOutput(state, thread);
    const status = output.ok ? thread.status : output.stop.status;
    let error = output.ok ? thread.error : { code: output.stop.code, message: output.stop.message, stack: null };
    // The stop flag that interrupted the guest carries no words; the reason given to terminate() does.
    if (error && status === 'terminated' && state.ending?.status === 'terminated') error = { ...error, message: state.ending.message };
    const result: SandboxResult = {
      execution_id: state.executionId,
      status,
      output: output.ok ? output.value : null,
      error,
      resource_usage: {
        cpu_ms: thread.cpuMs,
        memory_mb: Math.round((thread.memoryBytes / 1048576) * 100) / 100,
        api_calls: thread.apiCalls,
        host_calls: thread.hostCalls,
      },
      host_call_audit: thread.audit,
      logs: thread.logs,
      violation_count: thread.violations.length,
      violations: thread.violations,
      was_terminated: status === 'timed_out' || status === 'terminated',
      duration_ms: elapsed(state.startedAt),
    };
    this.emitRemaining(state, result, thread.eventOrder);
    return result;
  }

  private decodeOutput(state: RunState, thread: ThreadRunResult): { ok: true; value: JsonValue | null } | { ok: false; stop: RunStop } {
    if (thread.outputJson === null) return { ok: true, value: null };
    if (Buffer.byteLength(thread.outputJson, 'utf8') > state.limits.maxOutputBytes) {
      return { ok: false, stop: limitExceeded('output_too_large', `the output exceeds ${state.limits.maxOutputBytes} bytes`) };
    }
    try {
      return { ok: true, value: parseUntrustedJson(thread.outputJson) as JsonValue };
    } catch {
      this.log.error({ executionId: state.executionId }, 'sandbox thread returned output that is not JSON');
      return { ok: false, stop: sandboxFault() };
    }
  }

  /** The thread was lost mid-run (killed, crashed, out of heap): build the result from what was streamed. */
  private afterThreadLoss(state: RunState, err: unknown): SandboxResult {
    let stop = state.ending;
    if (!stop && (err as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      stop = limitExceeded('thread_memory_limit_exceeded', `the sandbox thread exceeded its ${this.settings.threadHeapMb} MB heap`);
    }
    if (!stop) {
      this.log.error({ executionId: state.executionId, err }, 'sandbox thread lost during a run');
      stop = sandboxFault();
    }
    return this.synthesize(state, stop);
  }

  private synthesize(state: RunState, stop: RunStop): SandboxResult {
    const kind = violationKindOf(stop);
    const violations = [...state.streamed.violations];
    if (kind) {
      const violation: SandboxViolation = {
        kind,
        code: stop.code,
        message: stop.message,
        timestamp: new Date().toISOString(),
        fn: stop.fn ?? null,
      };
      violations.push(violation);
      this.emit(state, { type: 'violation', violation });
    }
    const audit = state.streamed.audit;
    return {
      execution_id: state.executionId,
      status: stop.status,
      output: null,
      error: { code: stop.code, message: stop.message, stack: null },
      resource_usage: {
        // The thread is gone, its own accounting with it; the time it ran bounds the CPU it used.
        cpu_ms: state.killedAfterMs ?? 0,
        memory_mb: 0,
        api_calls: audit.filter((e) => e.allowed && API_CALL_FUNCTIONS.has(e.fn as HostFunctionName)).length,
        host_calls: audit.length + state.streamed.logs.length,
      },
      host_call_audit: audit,
      logs: state.streamed.logs,
      violation_count: violations.length,
      violations,
      was_terminated: stop.status === 'timed_out' || stop.status === 'terminated',
      duration_ms: elapsed(state.startedAt),
    };
  }

  /**
   * Streamed events and the result travel on different ports, so the result can overtake
   * the last events; deliver what the stream missed, in the order the thread recorded.
   */
  private emitRemaining(state: RunState, result: SandboxResult, eventOrder: string): void {
    if (!state.onEvent) return;
    const cursor = { l: state.streamed.logs.length, h: state.streamed.audit.length, v: state.streamed.violations.length };
    const seen = cursor.l + cursor.h + cursor.v;
    for (const kind of eventOrder.slice(seen)) {
      if (kind === 'l' && cursor.l < result.logs.length) this.emit(state, { type: 'log', line: result.logs[cursor.l++]! });
      else if (kind === 'h' && cursor.h < result.host_call_audit.length) this.emit(state, { type: 'host_call', entry: result.host_call_audit[cursor.h++]! });
      else if (kind === 'v' && cursor.v < result.violations.length) this.emit(state, { type: 'violation', violation: result.violations[cursor.v++]! });
    }
  }

  private nextRunId(): number {
    this.runSeq = this.runSeq >= MAX_RUN_ID ? 1 : this.runSeq + 1;
    return this.runSeq;
  }
}

function serializeInput(input: unknown): string | null {
  try {
    return JSON.stringify(input === undefined ? null : input) ?? null;
  } catch {
    return null;
  }
}

function sandboxFault(): RunStop {
  return { status: 'failed', code: 'sandbox_fault', message: 'the sandbox failed while running this execution' };
}

function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 1000) / 1000;
}

function endedBeforeStart(executionId: number, stop: RunStop, startedAt: number): SandboxResult {
  const kind = violationKindOf(stop);
  const violations: SandboxViolation[] = kind
    ? [{ kind, code: stop.code, message: stop.message, timestamp: new Date().toISOString(), fn: null }]
    : [];
  return {
    execution_id: executionId,
    status: stop.status,
    output: null,
    error: { code: stop.code, message: stop.message, stack: null },
    resource_usage: { cpu_ms: 0, memory_mb: 0, api_calls: 0, host_calls: 0 },
    host_call_audit: [],
    logs: [],
    violation_count: violations.length,
    violations,
    was_terminated: false,
    duration_ms: elapsed(startedAt),
  };
}

// One execution of agent code: a fresh QuickJS runtime and context in a reused
// WebAssembly instance (built ahead by the thread, guest-shell.ts), the thetazero host
// functions installed, the entry code run as
// the body of an async function, and its promise driven to the end by this thread's
// event loop. Host calls return deferred promises that are settled from here, between
// guest turns, so the guest never runs inside a host callback that was not its own.
//
// Layer one of the three limits lives here: the interrupt handler (deadline, outside
// stop, any limit a host function reported), the QuickJS stack limit, and the heap
// guard on the instance's linear memory (see quickjs-instance.ts for why).
import { setMaxListeners } from 'node:events';
import type { QuickJSContext, QuickJSDeferredPromise, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten-core';
import { GUEST_DESCRIBE_ERROR_SOURCE } from './guest-bootstrap.ts';
import { GuestVisibleError, type GuestArg, type HostFunctionSpec, type HostReturn } from './host-function.ts';
import type { HeapGuard, QuickJsInstance } from './quickjs-instance.ts';
import { limitExceeded, RunStopError, timedOut, type RunStop } from './run-stop.ts';

export interface GuestIdentity {
  readonly agentName: string;
  readonly agentVersion: string;
  readonly executionId: number;
}

export interface GuestRunOptions {
  readonly code: string;
  readonly inputJson: string;
  readonly identity: GuestIdentity;
  readonly hostFunctions: readonly HostFunctionSpec[];
  readonly memoryLimitBytes: number;
  readonly maxStackBytes: number;
  readonly timeLimitMs: number;
  readonly maxPendingHostCalls: number;
  readonly maxOutputBytes: number;
  /** Polled while guest code runs, so an outside stop lands even in a tight loop. */
  readonly externalStop?: () => RunStop | null;
}

export type GuestEnd =
  /** outputJson is null when the entry code returned undefined. */
  | { readonly kind: 'returned'; readonly outputJson: string | null }
  | { readonly kind: 'stopped'; readonly stop: RunStop; readonly stack: string | null };

export interface GuestOutcome {
  readonly end: GuestEnd;
  readonly cpuMs: number;
  readonly memoryBytes: number;
  /** Set when the engine itself failed; for the operator's log, never shown to the agent. */
  readonly faultDetail: string | null;
}

interface PendingCall {
  readonly deferred: QuickJSDeferredPromise;
  readonly work: Promise<unknown>;
}

type Settlement =
  | { readonly id: number; readonly ok: true; readonly value: HostReturn }
  | { readonly id: number; readonly ok: false; readonly error: unknown };

interface DescribedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | null;
}

/** How long a finished run waits for aborted host calls to record their audit entries. */
const INFLIGHT_DRAIN_MS = 250;

/** Cap on a described error's JSON text (the describer clips each part well below this). */
const MAX_DESCRIBED_BYTES = 16 * 1024;

/** The AsyncFunction constructor puts two lines before the body; stacks should count from the body. */
const BODY_LINE_OFFSET = 2;

export class GuestRun implements HeapGuard {
  private stop: RunStop | null = null;
  private interrupted = false;
  private faultDetail: string | null = null;
  private cpuMs = 0;
  private deadline = 0;
  private heapStart = 0;
  private finished = false;
  private callSeq = 0;
  private readonly pending = new Map<number, PendingCall>();
  private readonly settlements: Settlement[] = [];
  private readonly abort = new AbortController();
  private wake: (() => void) | null = null;
  private runtime: QuickJSRuntime | null = null;
  private ctx: QuickJSContext | null = null;
  /** Handles this run owns until the end: the captured intrinsics and the entry promise. */
  private readonly owned: QuickJSHandle[] = [];
  private jsonStringify: QuickJSHandle | null = null;
  private jsonParse: QuickJSHandle | null = null;
  private asyncFunction: QuickJSHandle | null = null;
  private describeError: QuickJSHandle | null = null;

  constructor(
    private readonly instance: QuickJsInstance,
    private readonly options: GuestRunOptions,
  ) {
    // Every pending host call listens on the run's abort signal; their number is bounded by maxPendingHostCalls.
    setMaxListeners(options.maxPendingHostCalls + 1, this.abort.signal);
  }

  /** Ends the run from outside (terminate, shutdown); takes effect at the guest's next turn or interrupt check. */
  requestStop(stop: RunStop): void {
    this.stop ??= stop;
    this.notify();
  }

  /** HeapGuard: a run may grow the instance's linear memory by memory_limit bytes at most. */
  allowGrowth(_currentBytes: number, requestedBytes: number): boolean {
    if (requestedBytes - this.heapStart <= this.options.memoryLimitBytes) return true;
    this.stop ??= limitExceeded(
      'memory_limit_exceeded',
      `memory_limit_mb (${Math.round(this.options.memoryLimitBytes / 1048576)} MB) exceeded`,
    );
    return false;
  }

  async execute(): Promise<GuestOutcome> {
    this.heapStart = this.instance.heapBytes;
    this.instance.guard = this;
    this.deadline = performance.now() + this.options.timeLimitMs;
    const timer = setTimeout(() => this.requestStop(timedOut(this.options.timeLimitMs)), this.options.timeLimitMs);
    let end: GuestEnd;
    try {
      end = await this.drive();
    } catch (err) {
      end = this.fault(err);
    } finally {
      clearTimeout(timer);
    }
    await this.drainInflight();
    this.finished = true;
    const memoryBytes = this.measureMemory();
    this.dispose(end);
    return { end, cpuMs: this.cpuMs, memoryBytes, faultDetail: this.faultDetail };
  }

  private async drive(): Promise<GuestEnd> {
    const shell = this.instance.takeShell();
    const { runtime, ctx } = shell;
    this.runtime = runtime;
    this.ctx = ctx;
    this.jsonStringify = this.own(shell.jsonStringify);
    this.jsonParse = this.own(shell.jsonParse);
    this.asyncFunction = this.own(shell.asyncFunction);
    const freezeReviver = this.own(shell.freezeReviver);
    runtime.setMemoryLimit(this.options.memoryLimitBytes);
    runtime.setMaxStackSize(this.options.maxStackBytes);
    runtime.setInterruptHandler(() => this.shouldInterrupt());

    const setupFailure = this.inGuest(() => this.installGlobals(ctx, freezeReviver));
    if (setupFailure) return setupFailure;
    const entry = this.inGuest(() => this.compileEntry(ctx));
    if ('kind' in entry) return entry;
    const promise = this.inGuest(() => this.callEntry(ctx, entry.fn));
    if ('kind' in promise) return promise;

    for (;;) {
      this.applySettlements(ctx);
      this.drainJobs(runtime);
      if (this.stop) return this.stopped();
      const state = ctx.getPromiseState(promise.handle);
      if (state.type === 'fulfilled') {
        const value = state.value;
        try {
          const end = this.inGuest(() => this.readOutput(ctx, value));
          return this.stop ? this.stopped() : end;
        } finally {
          if (!state.notAPromise) value.dispose();
        }
      }
      if (state.type === 'rejected') {
        try {
          return this.stop ? this.stopped() : this.inGuest(() => this.guestFailure(ctx, state.error));
        } finally {
          state.error.dispose();
        }
      }
      if (this.pending.size === 0 && this.settlements.length === 0) {
        return {
          kind: 'stopped',
          stop: {
            status: 'failed',
            code: 'unsettled_promise',
            message: 'the entry code is waiting on a promise that nothing can settle',
          },
          stack: null,
        };
      }
      await this.waitForWork();
    }
  }

  // ---- setup -------------------------------------------------------------------------

  /**
   * Builds the run's globals through the FFI rather than by compiling a prelude (compiling
   * is the dearest part of a fresh context): `thetazero` with the host functions and the
   * run's identity, `input`, both read-only and frozen. The intrinsics the host serializes
   * with were captured with the shell, before any agent code could replace them.
   */
  private installGlobals(ctx: QuickJSContext, freezeReviver: QuickJSHandle): GuestEnd | null {
    const global = ctx.global;
    const objectCtor = ctx.getProp(global, 'Object');
    const freeze = ctx.getProp(objectCtor, 'freeze');
    const tz = ctx.newObject();
    for (const spec of this.options.hostFunctions) {
      const fn = ctx.newFunction(spec.name, (...args) => this.callHost(ctx, spec, args));
      ctx.defineProp(tz, spec.name, { value: fn, enumerable: true, configurable: false });
      fn.dispose();
    }
    const { agentName, agentVersion, executionId } = this.options.identity;
    for (const [key, value] of [
      ['agentName', ctx.newString(agentName)],
      ['agentVersion', ctx.newString(agentVersion)],
      ['executionId', ctx.newNumber(executionId)],
    ] as const) {
      ctx.defineProp(tz, key, { value, enumerable: true, configurable: false });
      value.dispose();
    }
    ctx.callFunction(freeze, objectCtor, tz).unwrap().dispose();
    ctx.defineProp(global, 'thetazero', { value: tz, enumerable: false, configurable: false });
    tz.dispose();
    freeze.dispose();
    objectCtor.dispose();

    const text = ctx.newString(this.options.inputJson);
    const parsed = ctx.callFunction(this.jsonParse!, ctx.undefined, text, freezeReviver);
    text.dispose();
    if (parsed.error) return this.setupFailure(ctx, parsed.error);
    const input = parsed.value;
    ctx.defineProp(global, 'input', { value: input, enumerable: false, configurable: false });
    input.dispose();
    return null;
  }

  /** Setup runs no agent code, so a failure there is the input's size or the engine's fault. */
  private setupFailure(ctx: QuickJSContext, error: QuickJSHandle): GuestEnd {
    const described = this.describeFallback(ctx, error);
    error.dispose();
    if (this.stop) return this.stopped();
    if (described.message === 'out of memory') {
      return { kind: 'stopped', stop: limitExceeded('memory_limit_exceeded', 'the input does not fit in memory_limit_mb'), stack: null };
    }
    if (described.message === 'stack overflow') {
      return { kind: 'stopped', stop: limitExceeded('stack_limit_exceeded', 'the input is nested too deeply'), stack: null };
    }
    throw new Error(`sandbox bootstrap failed: ${described.name}: ${described.message}`);
  }

  private compileEntry(ctx: QuickJSContext): { fn: QuickJSHandle } | GuestEnd {
    const source = ctx.newString(this.options.code);
    const compiled = ctx.callFunction(this.asyncFunction!, ctx.undefined, source);
    source.dispose();
    if (compiled.error) {
      const described = this.describe(ctx, compiled.error);
      compiled.error.dispose();
      if (this.stop) return this.stopped();
      if (described.name === 'SyntaxError') {
        return {
          kind: 'stopped',
          stop: { status: 'failed', code: 'syntax_error', message: `SyntaxError: ${described.message}` },
          stack: described.stack,
        };
      }
      return this.classifyGuestError(described);
    }
    return { fn: compiled.value };
  }

  private callEntry(ctx: QuickJSContext, fn: QuickJSHandle): { handle: QuickJSHandle } | GuestEnd {
    const called = ctx.callFunction(fn, ctx.undefined);
    fn.dispose();
    if (called.error) return this.guestFailure(ctx, called.error, true);
    return { handle: this.own(called.value) };
  }

  // ---- the guest's turns -------------------------------------------------------------

  private shouldInterrupt(): boolean {
    if (!this.stop) {
      const outside = this.options.externalStop?.();
      if (outside) this.stop = outside;
      else if (performance.now() >= this.deadline) this.stop = timedOut(this.options.timeLimitMs);
    }
    if (this.stop) this.interrupted = true;
    return this.stop !== null;
  }

  /** Every entry into QuickJS goes through here, so cpu_ms counts exactly the guest's time. */
  private inGuest<T>(work: () => T): T {
    const started = performance.now();
    try {
      return work();
    } finally {
      this.cpuMs += performance.now() - started;
    }
  }

  private drainJobs(runtime: QuickJSRuntime): void {
    this.inGuest(() => {
      while (!this.stop && runtime.hasPendingJob()) {
        const ran = runtime.executePendingJobs();
        if (ran.error) {
          // Jobs report only what escapes promise handling: an interrupt or an engine
          // error such as running out of memory mid-job.
          const described = this.describeFallback(ran.error.context, ran.error);
          ran.error.dispose();
          this.interrupted = true;
          if (!this.stop) {
            const end = this.classifyGuestError(described);
            if (end.kind === 'stopped') this.stop = end.stop;
          }
        } else {
          ran.dispose();
        }
      }
    });
  }

  private waitForWork(): Promise<void> {
    if (this.stop || this.settlements.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private notify(): void {
    const wake = this.wake;
    if (wake) {
      this.wake = null;
      wake();
    }
  }

  // ---- host calls --------------------------------------------------------------------

  private callHost(ctx: QuickJSContext, spec: HostFunctionSpec, argHandles: QuickJSHandle[]): QuickJSHandle | { error: QuickJSHandle } | undefined {
    if (this.stop) return { error: this.stopError(ctx) };
    const args = argHandles.map((handle) => this.readArg(ctx, handle, spec.maxArgBytes));
    if (this.stop) return { error: this.stopError(ctx) };
    if (spec.mode === 'sync') {
      try {
        return this.toGuest(ctx, spec.invoke(args, this.abort.signal) as HostReturn);
      } catch (err) {
        if (err instanceof RunStopError) {
          this.stop ??= err.stop;
          return { error: this.stopError(ctx) };
        }
        return { error: this.errorToGuest(ctx, err) };
      }
    }
    if (this.pending.size >= this.options.maxPendingHostCalls) {
      this.stop ??= limitExceeded(
        'pending_host_calls_exceeded',
        `more than ${this.options.maxPendingHostCalls} host calls pending at once`,
      );
      return { error: this.stopError(ctx) };
    }
    let work: HostReturn | Promise<HostReturn>;
    try {
      work = spec.invoke(args, this.abort.signal);
    } catch (err) {
      if (err instanceof RunStopError) {
        this.stop ??= err.stop;
        return { error: this.stopError(ctx) };
      }
      // Refused at admission: still a promise, as every async host function returns one.
      const refused = ctx.newPromise();
      const error = this.errorToGuest(ctx, err);
      refused.reject(error);
      error.dispose();
      return refused.handle;
    }
    const id = ++this.callSeq;
    const deferred = ctx.newPromise();
    const settled = Promise.resolve(work).then(
      (value) => this.settle({ id, ok: true, value }),
      (error: unknown) => this.settle({ id, ok: false, error }),
    );
    this.pending.set(id, { deferred, work: settled });
    return deferred.handle;
  }

  private settle(settlement: Settlement): void {
    if (this.finished) return;
    this.settlements.push(settlement);
    this.notify();
  }

  private applySettlements(ctx: QuickJSContext): void {
    for (let i = 0; i < this.settlements.length; i++) {
      const settlement = this.settlements[i]!;
      const call = this.pending.get(settlement.id);
      if (!call) continue;
      this.pending.delete(settlement.id);
      if (this.stop) {
        call.deferred.dispose();
        continue;
      }
      if (!settlement.ok && settlement.error instanceof RunStopError) {
        this.stop ??= settlement.error.stop;
        call.deferred.dispose();
        continue;
      }
      this.inGuest(() => {
        try {
          if (settlement.ok) {
            const value = this.toGuest(ctx, settlement.value);
            call.deferred.resolve(value);
            value.dispose();
          } else {
            const error = this.errorToGuest(ctx, settlement.error);
            call.deferred.reject(error);
            error.dispose();
          }
        } catch (err) {
          // Resolving may run guest code (a thenable's getter) that gets interrupted, or
          // copying the value in may exhaust the heap; both leave a stop behind.
          call.deferred.dispose();
          if (!this.stop) throw err;
        }
      });
    }
    this.settlements.length = 0;
  }

  /** Aborts host calls still in flight and gives them a moment to record how they ended. */
  private async drainInflight(): Promise<void> {
    // Nothing in flight is the common case, and an abort costs a DOMException with a stack.
    if (this.pending.size === 0) return;
    this.abort.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.pending.values()].map((call) => call.work)),
      new Promise((resolve) => {
        timer = setTimeout(resolve, INFLIGHT_DRAIN_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  // ---- values across the boundary ----------------------------------------------------

  /** Copies one argument out of the guest: strings as they are, anything else as JSON text. */
  private readArg(ctx: QuickJSContext, handle: QuickJSHandle, maxBytes: number): GuestArg {
    const type = ctx.typeof(handle);
    if (type === 'undefined') return { kind: 'undefined' };
    if (type === 'string') return this.readString(ctx, handle, maxBytes, (value) => ({ kind: 'string', value }));
    if (type === 'number') {
      const n = ctx.getNumber(handle);
      return { kind: 'json', json: Number.isFinite(n) ? JSON.stringify(n) : 'null' };
    }
    if (type === 'boolean') return { kind: 'json', json: ctx.dump(handle) === true ? 'true' : 'false' };
    const serialized = ctx.callFunction(this.jsonStringify!, ctx.undefined, handle);
    if (serialized.error) {
      const described = this.describe(ctx, serialized.error);
      serialized.error.dispose();
      return { kind: 'not_json', reason: described.message || 'value cannot be serialized to JSON' };
    }
    try {
      if (ctx.typeof(serialized.value) !== 'string') {
        return { kind: 'not_json', reason: `a ${type} is not JSON-serializable` };
      }
      return this.readString(ctx, serialized.value, maxBytes, (json) => ({ kind: 'json', json }));
    } finally {
      serialized.value.dispose();
    }
  }

  /** Checks the length inside the guest before copying, so a huge string is never copied out. */
  private readString(ctx: QuickJSContext, handle: QuickJSHandle, maxBytes: number, wrap: (s: string) => GuestArg): GuestArg {
    // UTF-8 never takes fewer bytes than UTF-16 code units, so length > max is already too large.
    const units = ctx.getLength(handle) ?? 0;
    if (units > maxBytes) return { kind: 'too_large', limitBytes: maxBytes };
    const value = ctx.getString(handle);
    if (Buffer.byteLength(value, 'utf8') > maxBytes) return { kind: 'too_large', limitBytes: maxBytes };
    return wrap(value);
  }

  /** Copies JSON text into the guest with the parse captured at bootstrap. */
  private toGuest(ctx: QuickJSContext, json: HostReturn): QuickJSHandle {
    if (json === undefined) return ctx.undefined;
    const text = ctx.newString(json);
    const parsed = ctx.callFunction(this.jsonParse!, ctx.undefined, text);
    text.dispose();
    if (parsed.error) {
      const described = this.describeFallback(ctx, parsed.error);
      parsed.error.dispose();
      throw new Error(`could not copy a value into the guest: ${described.message}`);
    }
    return parsed.value;
  }

  private errorToGuest(ctx: QuickJSContext, err: unknown): QuickJSHandle {
    const { code, message } =
      err instanceof GuestVisibleError ? err : { code: 'host_error', message: 'the host function failed' };
    if (!(err instanceof GuestVisibleError)) this.faultDetail ??= describeHostError(err);
    const error = ctx.newError({ name: 'HostCallError', message });
    const codeHandle = ctx.newString(code);
    ctx.defineProp(error, 'code', { value: codeHandle, enumerable: true, configurable: true });
    codeHandle.dispose();
    return error;
  }

  private stopError(ctx: QuickJSContext): QuickJSHandle {
    return ctx.newError({ name: 'SandboxStop', message: this.stop?.message ?? 'the run is ending' });
  }

  private describe(ctx: QuickJSContext, error: QuickJSHandle): DescribedError {
    const describeError = this.describer(ctx);
    if (!describeError) return { name: 'Error', message: 'a value that could not be described was thrown', stack: null };
    const described = ctx.callFunction(describeError, ctx.undefined, error);
    if (described.error) {
      described.error.dispose();
      return { name: 'Error', message: 'a value that could not be described was thrown', stack: null };
    }
    try {
      const text = this.readString(ctx, described.value, MAX_DESCRIBED_BYTES, (value) => ({ kind: 'string', value }));
      // The agent may have given arrays a toJSON; trust only the expected shape.
      const parts: unknown = text.kind === 'string' ? JSON.parse(text.value) : null;
      if (!Array.isArray(parts) || parts.length !== 3 || !parts.every((p) => typeof p === 'string')) {
        return { name: 'Error', message: 'a value that could not be described was thrown', stack: null };
      }
      const [name, message, stack] = parts as [string, string, string];
      return { name, message, stack: stack === '' ? null : renumberStack(stack) };
    } catch {
      return { name: 'Error', message: 'a value that could not be described was thrown', stack: null };
    } finally {
      described.value.dispose();
    }
  }

  /** Compiled on the first error a run has to describe; most runs have none. */
  private describer(ctx: QuickJSContext): QuickJSHandle | null {
    if (this.describeError) return this.describeError;
    const factory = ctx.evalCode(GUEST_DESCRIBE_ERROR_SOURCE, 'sandbox-describe.js');
    if (factory.error) {
      factory.error.dispose();
      return null;
    }
    const made = ctx.callFunction(factory.value, ctx.undefined, this.jsonStringify!);
    factory.value.dispose();
    if (made.error) {
      made.error.dispose();
      return null;
    }
    this.describeError = this.own(made.value);
    return this.describeError;
  }

  /** For errors raised outside the guest's own turn, where running guest code is not wanted or not possible. */
  private describeFallback(ctx: QuickJSContext, error: QuickJSHandle): DescribedError {
    if (this.jsonStringify && !this.stop) return this.describe(ctx, error);
    try {
      const dumped = ctx.dump(error) as { name?: unknown; message?: unknown } | null;
      return {
        name: typeof dumped?.name === 'string' ? dumped.name : 'Error',
        message: typeof dumped?.message === 'string' ? dumped.message.slice(0, 2000) : 'unknown error',
        stack: null,
      };
    } catch {
      return { name: 'Error', message: 'unknown error', stack: null };
    }
  }

  // ---- how the run ends ------------------------------------------------------------

  private readOutput(ctx: QuickJSContext, value: QuickJSHandle): GuestEnd {
    const arg = this.readArg(ctx, value, this.options.maxOutputBytes);
    switch (arg.kind) {
      case 'undefined':
        return { kind: 'returned', outputJson: null };
      case 'string':
        return { kind: 'returned', outputJson: JSON.stringify(arg.value) };
      case 'json':
        return { kind: 'returned', outputJson: arg.json };
      case 'too_large':
        return {
          kind: 'stopped',
          stop: limitExceeded('output_too_large', `the output exceeds ${arg.limitBytes} bytes`),
          stack: null,
        };
      case 'not_json':
        return {
          kind: 'stopped',
          stop: { status: 'failed', code: 'invalid_output', message: `the output is not JSON-serializable: ${arg.reason}` },
          stack: null,
        };
    }
  }

  private guestFailure(ctx: QuickJSContext, error: QuickJSHandle, dispose = false): GuestEnd {
    const described = this.describe(ctx, error);
    if (dispose) error.dispose();
    if (this.stop) return this.stopped();
    return this.classifyGuestError(described);
  }

  /** QuickJS reports its own limits as InternalErrors; everything else is the agent's error. */
  private classifyGuestError(described: DescribedError): GuestEnd {
    if (described.name === 'InternalError' && described.message === 'out of memory') {
      this.interrupted = true;
      return {
        kind: 'stopped',
        stop: limitExceeded(
          'memory_limit_exceeded',
          `memory_limit_mb (${Math.round(this.options.memoryLimitBytes / 1048576)} MB) exceeded`,
        ),
        stack: described.stack,
      };
    }
    if (described.name === 'InternalError' && described.message === 'stack overflow') {
      return {
        kind: 'stopped',
        stop: limitExceeded('stack_limit_exceeded', `stack limit (${this.options.maxStackBytes / 1024} KB) exceeded`),
        stack: null,
      };
    }
    return {
      kind: 'stopped',
      stop: { status: 'failed', code: 'guest_error', message: `${described.name}: ${described.message}` },
      stack: described.stack,
    };
  }

  private stopped(): GuestEnd {
    return { kind: 'stopped', stop: this.stop!, stack: null };
  }

  private fault(err: unknown): GuestEnd {
    // An exception out of QuickJS's own calls means its state is in doubt.
    this.instance.poisoned = true;
    if (this.stop) return this.stopped();
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      return {
        kind: 'stopped',
        stop: limitExceeded('stack_limit_exceeded', 'the thread ran out of native stack'),
        stack: null,
      };
    }
    this.faultDetail = describeHostError(err);
    return {
      kind: 'stopped',
      stop: { status: 'failed', code: 'sandbox_fault', message: 'the sandbox failed while running this execution' },
      stack: null,
    };
  }

  // ---- teardown --------------------------------------------------------------------

  private own(handle: QuickJSHandle): QuickJSHandle {
    this.owned.push(handle);
    return handle;
  }

  private measureMemory(): number {
    const growth = Math.max(0, this.instance.heapBytes - this.heapStart);
    if (!this.runtime || this.instance.poisoned || this.interrupted) return growth;
    try {
      const usage = this.runtime.computeMemoryUsage();
      const used = this.ctx!.getProp(usage, 'memory_used_size');
      const bytes = this.ctx!.getNumber(used);
      used.dispose();
      usage.dispose();
      return Math.max(growth, Number.isFinite(bytes) ? bytes : 0);
    } catch {
      return growth;
    }
  }

  /**
   * Frees everything when QuickJS finished cleanly, once the thread is idle (the instance
   * runs the teardown after the result has gone, or before the next run at the latest;
   * a teardown that throws then discards the instance). After an interrupt, an
   * out-of-memory, or with jobs still queued, freeing the runtime can trip QuickJS's own
   * assertions and abort the instance, so the whole instance is discarded instead: its
   * linear memory goes with it, and nothing of the run survives into the next one.
   */
  private dispose(end: GuestEnd): void {
    const runtime = this.runtime;
    const ctx = this.ctx;
    const limitEnd = end.kind === 'stopped' && (end.stop.code === 'memory_limit_exceeded' || end.stop.code === 'stack_limit_exceeded');
    if (this.interrupted || limitEnd || this.instance.poisoned || !runtime || !ctx || runtime.hasPendingJob()) {
      this.instance.poisoned = true;
      return;
    }
    const pending = [...this.pending.values()];
    this.pending.clear();
    const owned = this.owned;
    this.instance.deferCleanup(() => {
      for (const call of pending) call.deferred.dispose();
      for (const handle of owned) if (handle.alive) handle.dispose();
      runtime.context = undefined;
      ctx.dispose();
      runtime.dispose();
    });
  }
}

function renumberStack(stack: string): string {
  return stack.replace(/<input>:(\d+)(?=:\d+)/g, (_m, line: string) => `agent.js:${Math.max(1, Number(line) - BODY_LINE_OFFSET)}`);
}

function describeHostError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

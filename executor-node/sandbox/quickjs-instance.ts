// QuickJS WebAssembly instances for one sandbox thread. The module is compiled once per
// thread; an instance (its own linear memory) serves run after run, each run in a fresh
// runtime and context, and is thrown away when a run leaves it in doubt or bloated.
// Freeing a finished run's runtime and building the next run's (guest-shell.ts) are left
// for when the thread is idle, after the result has gone, so neither is on a run's way;
// whatever is still left when the next run comes is done first, before it starts.
//
// Why the heap guard: this QuickJS build cannot measure its own allocations (under
// Emscripten js_def_malloc_usable_size returns 0, so JS_SetMemoryLimit only catches
// single oversized allocations, never the total). The instance's memory therefore
// gets a `grow` wrapper that refuses to let a run grow the linear memory past its
// allowance: malloc then fails, QuickJS throws "out of memory", and the run is stopped.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import variant from '@jitl/quickjs-wasmfile-release-sync';
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';
import { openGuestShell, type GuestShell } from './guest-shell.ts';

const PAGE_BYTES = 65_536;
/** The build's own starting size (INITIAL_MEMORY). */
const INITIAL_PAGES = 256;
/** wasm32 as built: 2 GiB. Per-run allowances are enforced below this by the guard. */
const MAXIMUM_PAGES = 32_768;
/**
 * An instance whose linear memory grew past this after a run is replaced, so an idle
 * thread does not keep a memory bomb's pages, and free space left inside an instance
 * (which a later run could use without growing it) stays small.
 */
export const RECYCLE_AFTER_BYTES = 2 * INITIAL_PAGES * PAGE_BYTES;

/** Set by the run that owns the instance; asked before every growth of linear memory. */
export interface HeapGuard {
  allowGrowth(currentBytes: number, requestedBytes: number): boolean;
}

export class QuickJsInstance {
  /** Set when QuickJS may be in an inconsistent state; the instance is never reused then. */
  poisoned = false;
  guard: HeapGuard | null = null;
  runs = 0;
  /** Freeing the last run's runtime, when that run ended cleanly and it has not been done yet. */
  private cleanup: (() => void) | null = null;
  /** The next run's runtime and context, built while the thread was idle. */
  private shell: GuestShell | null = null;

  constructor(
    readonly module: QuickJSWASMModule,
    readonly memory: WebAssembly.Memory,
  ) {}

  get heapBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Whether the next run's shell is already built. */
  get hasShell(): boolean {
    return this.shell !== null;
  }

  /** Keeps a finished run's teardown for later (see settle). */
  deferCleanup(cleanup: () => void): void {
    this.settle();
    this.cleanup = cleanup;
  }

  /** Runs the deferred teardown now, if any; a teardown that throws leaves the instance poisoned. */
  settle(): void {
    const cleanup = this.cleanup;
    if (!cleanup) return;
    this.cleanup = null;
    try {
      cleanup();
    } catch {
      this.poisoned = true;
    }
  }

  /** Idle work: the last teardown, then the next run's shell. */
  prepare(): void {
    this.settle();
    if (this.poisoned || this.shell) return;
    try {
      this.shell = openGuestShell(this.module);
    } catch {
      this.poisoned = true;
    }
  }

  /** The shell built ahead, or a new one; the caller owns it. Throws if QuickJS cannot make one. */
  takeShell(): GuestShell {
    this.settle();
    const shell = this.shell ?? openGuestShell(this.module);
    this.shell = null;
    return shell;
  }
}

export function quickJsWasmPath(): string {
  return createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
}

export class QuickJsInstancePool {
  private current: QuickJsInstance | null = null;
  private compiled: Promise<WebAssembly.Module> | null = null;
  /** Instances created so far; discarded ones included. */
  created = 0;

  constructor(private readonly wasmPath: string = quickJsWasmPath()) {}

  async acquire(): Promise<QuickJsInstance> {
    this.current?.settle();
    if (this.current && !this.current.poisoned) return this.current;
    this.current = await this.instantiate();
    return this.current;
  }

  /** Builds the next run's shell while nothing runs (after a result has been sent). */
  prepareNext(): void {
    if (this.current && !this.current.guard) this.current.prepare();
  }

  /** Called after every run: keeps the instance unless the run poisoned or bloated it. */
  release(instance: QuickJsInstance): void {
    instance.guard = null;
    instance.runs += 1;
    if (instance.poisoned || instance.heapBytes > RECYCLE_AFTER_BYTES) {
      if (this.current === instance) this.current = null;
    }
  }

  private async instantiate(): Promise<QuickJsInstance> {
    this.compiled ??= WebAssembly.compile(readFileSync(this.wasmPath));
    const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES });
    let instance: QuickJsInstance | null = null;
    const nativeGrow = memory.grow.bind(memory);
    // Emscripten's heap resize calls memory.grow inside try/catch and reports failure
    // to malloc when it throws; an own property shadows the prototype's method.
    Object.defineProperty(memory, 'grow', {
      value: (deltaPages: number): number => {
        const current = memory.buffer.byteLength;
        if (instance?.guard && !instance.guard.allowGrowth(current, current + deltaPages * PAGE_BYTES)) {
          throw new RangeError('sandbox heap allowance exhausted');
        }
        return nativeGrow(deltaPages);
      },
    });
    const module = await newQuickJSWASMModuleFromVariant(
      newVariant(variant, { wasmModule: await this.compiled, wasmMemory: memory }),
    );
    instance = new QuickJsInstance(module, memory);
    this.created += 1;
    return instance;
  }
}

// Groups concurrent submissions into batches without making anyone wait for a timer:
// what is submitted while fewer than `maxInFlight` batches are being handled goes out at
// the next turn of the event loop, together with whatever else arrived in that turn;
// what is submitted while the limit is reached waits for a batch to finish and then goes
// with everything else that waited. At rest every item travels alone and at once; under
// load batches grow by themselves, so one round trip carries many items.

export interface CoalescingBatcherOptions {
  /** Most items per batch. */
  readonly maxBatch: number;
  /** Batches handled at once. */
  readonly maxInFlight: number;
  /**
   * Least time between the starts of two batches (default 0). An item submitted after a
   * quiet spell still goes at once; under a steady stream, items wait up to this long and
   * travel together: fewer, fuller batches where each batch has a fixed cost downstream.
   */
  readonly minIntervalMs?: number;
}

interface Pending<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * `handle` answers one result per item, in order. If it throws, every item of that batch
 * is rejected with the error; items of other batches are not affected.
 */
export class CoalescingBatcher<T, R> {
  private queue: Pending<T, R>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private lastStart = Number.NEGATIVE_INFINITY;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handle: (items: T[]) => Promise<R[]>,
    private readonly options: CoalescingBatcherOptions,
  ) {
    if (!(options.maxBatch >= 1 && options.maxInFlight >= 1)) throw new RangeError('maxBatch and maxInFlight must be at least 1');
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting or being handled. */
  get size(): number {
    return this.queue.length + this.inFlight;
  }

  /** Resolves once nothing is waiting or being handled. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    const wait = this.lastStart + (this.options.minIntervalMs ?? 0) - performance.now();
    const go = () => {
      this.scheduled = false;
      this.pump();
    };
    // setImmediate rather than a microtask: requests read from different sockets in the
    // same poll phase land in one batch.
    if (wait > 0) setTimeout(go, wait);
    else setImmediate(go);
  }

  private pump(): void {
    if (this.queue.length > 0 && this.lastStart + (this.options.minIntervalMs ?? 0) > performance.now()) {
      this.schedule();
      return;
    }
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      this.lastStart = performance.now();
      void this.run(batch);
      if (this.options.minIntervalMs) {
        // One batch per interval: what still waits goes when the interval is over.
        if (this.queue.length > 0) this.schedule();
        break;
      }
    }
    this.notifyIfIdle();
  }

  private async run(batch: Pending<T, R>[]): Promise<void> {
    try {
      const results = await this.handle(batch.map((p) => p.item));
      if (results.length !== batch.length) throw new Error(`batch handler answered ${results.length} results for ${batch.length} items`);
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.inFlight--;
      this.pump();
    }
  }

  private notifyIfIdle(): void {
    if (this.queue.length > 0 || this.inFlight > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

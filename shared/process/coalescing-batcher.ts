// Groups concurrent submissions into batches without making anyone wait for a timer:
// what is submitted while fewer than `maxInFlight` batches are being handled goes out at
// the next turn of the event loop, together with whatever else arrived in that turn;
// what is submitted while the limit is reached waits for a batch to finish and then goes
// with everything else that waited. At rest every item travels alone and at once; under
// load batches grow by themselves, so one round trip carries many items. A minimum
// interval between batches can make them fuller still, but only while items stream in.

export interface CoalescingBatcherOptions {
  /** Most items per batch. */
  readonly maxBatch: number;
  /** Batches handled at once. */
  readonly maxInFlight: number;
  /**
   * Least time between the starts of two batches while items stream in (default 0): then
   * items wait up to this long and travel together, fewer and fuller batches where each
   * batch has a fixed cost downstream. The spacing holds only while items arrive faster
   * than STREAM_ITEMS_PER_INTERVAL per interval (a running mean of the gaps between
   * submissions): a lone item, or items coming one at a time at a request-response pace
   * (a synchronous caller waiting for each), always goes at once, since holding it back
   * would only add latency and gather nothing to share the batch with.
   */
  readonly minIntervalMs?: number;
}

interface Pending<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (err: unknown) => void;
}

/** Items expected per interval before spacing batches pays: fewer would mostly wait alone. */
const STREAM_ITEMS_PER_INTERVAL = 4;
/** Weight of the newest gap in the running mean: a stream is recognized within about ten items. */
const GAP_WEIGHT = 0.25;

/**
 * `handle` answers one result per item, in order. If it throws, every item of that batch
 * is rejected with the error; items of other batches are not affected.
 */
export class CoalescingBatcher<T, R> {
  private queue: Pending<T, R>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private lastStart = Number.NEGATIVE_INFINITY;
  private lastSubmit = Number.NEGATIVE_INFINITY;
  /** Running mean of the gaps between submissions, each gap capped (a quiet spell counts as one long gap). */
  private meanGapMs: number;
  /** The last batch left items behind (more waited than maxBatch): a backlog is a stream too. */
  private backlogged = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handle: (items: T[]) => Promise<R[]>,
    private readonly options: CoalescingBatcherOptions,
  ) {
    if (!(options.maxBatch >= 1 && options.maxInFlight >= 1)) throw new RangeError('maxBatch and maxInFlight must be at least 1');
    this.meanGapMs = this.longestGapMs();
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.options.minIntervalMs) this.noteSubmission();
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
    const wait = this.lastStart + this.spacingMs() - performance.now();
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
    if (this.queue.length > 0 && this.lastStart + this.spacingMs() > performance.now()) {
      this.schedule();
      return;
    }
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.backlogged = this.queue.length > 0;
      this.inFlight++;
      this.lastStart = performance.now();
      void this.run(batch);
      if (this.spacingMs() > 0) {
        // One batch per interval: what still waits goes when the interval is over.
        if (this.queue.length > 0) this.schedule();
        break;
      }
    }
    this.notifyIfIdle();
  }

  /** The spacing in force: minIntervalMs while items stream in or a backlog drains, none otherwise. */
  private spacingMs(): number {
    const interval = this.options.minIntervalMs ?? 0;
    return this.backlogged || this.meanGapMs * STREAM_ITEMS_PER_INTERVAL <= interval ? interval : 0;
  }

  private noteSubmission(): void {
    const now = performance.now();
    const gap = Math.min(now - this.lastSubmit, this.longestGapMs());
    this.lastSubmit = now;
    this.meanGapMs += GAP_WEIGHT * (gap - this.meanGapMs);
  }

  /** Longer gaps count as this long, so one quiet spell ends a stream without taking long to forget. */
  private longestGapMs(): number {
    return 2 * (this.options.minIntervalMs ?? 0);
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

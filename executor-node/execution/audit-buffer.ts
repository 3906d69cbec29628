// Collects the audit events of every execution on this node and appends them to the
// audit stream in batches: at once when a batch is full, within a short interval
// otherwise, and on demand before an execution's result is sent. An append that fails is
// retried with the same events (same event ids: the recorder drops a duplicate), so an
// event is never dropped while the process lives.
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEvent } from '../../shared/audit/audit-event.ts';
import type { AuditSink } from '../../shared/audit/audit-sink.ts';
import type { Logger } from '../../shared/logger.ts';

export interface AuditBufferOptions {
  /** Most events per append; a full batch is sent without waiting for the interval. */
  readonly maxBatch: number;
  /** How long an event may wait for companions before it is sent. */
  readonly intervalMs: number;
  readonly retryMs: number;
}

const DEFAULTS: AuditBufferOptions = { maxBatch: 500, intervalMs: 100, retryMs: 250 };

export class AuditBuffer {
  private pending: AuditEvent[] = [];
  /** Appends run one after another, so events reach the stream in the order they were added. */
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private abandoned = false;
  private readonly options: AuditBufferOptions;

  constructor(
    private readonly sink: AuditSink,
    private readonly log: Logger,
    options: Partial<AuditBufferOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  add(events: readonly AuditEvent[]): void {
    if (events.length === 0) return;
    this.pending.push(...events);
    if (this.pending.length >= this.options.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.intervalMs).unref();
  }

  /** Resolves once every event added before this call is in the sink. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.chain = this.chain.then(() => this.drain());
    return this.chain;
  }

  /** Shutdown could not wait any longer: stop retrying and say how much was not sent. */
  abandon(): void {
    this.abandoned = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.pending.length > 0) this.log.error({ events: this.pending.length }, 'audit events not appended before shutdown');
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 && !this.abandoned) {
      const batch = this.pending.slice(0, this.options.maxBatch);
      try {
        await this.sink.append(batch);
        this.pending.splice(0, batch.length);
      } catch (err) {
        this.log.warn({ err, events: batch.length, retryInMs: this.options.retryMs }, 'audit append failed; retrying');
        await sleep(this.options.retryMs);
      }
    }
  }
}

// One live audit stream: replays stored records, then continues live, in chain order,
// with no gap and no duplicate. Chain sequence numbers are contiguous per account, so the
// session tracks the last sequence it has accounted for: a live record beyond the next
// one reveals a gap (a message lost, or recorders publishing out of order) that is filled
// from the database; a record at or below it is a duplicate and is dropped.
import type { AuditRecordView } from '../../shared/audit/audit-record.ts';
import { presentAuditRecord } from '../../shared/audit/audit-record.ts';
import type { AuditStore } from '../../shared/db/stores/audit-store.ts';
import type { AuditListener } from './audit-fanout.ts';

export interface StreamFilter {
  readonly accountId: number;
  readonly agentId?: number;
  readonly executionId?: number;
}

export class AuditStreamSession implements AuditListener {
  private lastSequence = 0;
  private buffering = true;
  private readonly buffered: AuditRecordView[] = [];
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly store: AuditStore,
    private readonly filter: StreamFilter,
    private readonly emit: (record: AuditRecordView) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Replays records after `afterSequence` up to the current head, then goes live. */
  async start(afterSequence: number): Promise<void> {
    this.lastSequence = afterSequence;
    await this.catchUp(await this.store.headSequence(this.filter.accountId));
    this.buffering = false;
    const pending = this.buffered.splice(0);
    this.enqueue(() => this.apply(pending));
    await this.queue;
  }

  close(): void {
    this.closed = true;
  }

  records(records: readonly AuditRecordView[]): void {
    if (this.closed) return;
    if (this.buffering) this.buffered.push(...records);
    else this.enqueue(() => this.apply(records));
  }

  resync(): void {
    if (this.closed || this.buffering) return;
    this.enqueue(async () => this.catchUp(await this.store.headSequence(this.filter.accountId)));
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((err) => {
      this.closed = true;
      this.onError(err);
    });
  }

  private async apply(records: readonly AuditRecordView[]): Promise<void> {
    const ordered = [...records].sort((a, b) => a.sequence - b.sequence);
    for (const record of ordered) {
      if (this.closed) return;
      if (record.sequence <= this.lastSequence) continue;
      if (record.sequence > this.lastSequence + 1) await this.catchUp(record.sequence - 1);
      if (this.matches(record)) this.emit(record);
      this.lastSequence = record.sequence;
    }
  }

  private async catchUp(upTo: number): Promise<void> {
    if (upTo <= this.lastSequence) return;
    const { accountId, agentId, executionId } = this.filter;
    for await (const row of this.store.iterate({ accountId, agentId, executionId }, this.lastSequence)) {
      if (this.closed) return;
      const record = presentAuditRecord(row);
      if (record.sequence > upTo) break;
      this.emit(record);
    }
    this.lastSequence = upTo;
  }

  private matches(record: AuditRecordView): boolean {
    if (this.filter.agentId !== undefined && record.agent_id !== this.filter.agentId) return false;
    if (this.filter.executionId !== undefined && record.execution_id !== this.filter.executionId) return false;
    return true;
  }
}

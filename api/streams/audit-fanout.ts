// One Redis pattern subscription per api process for committed audit records; each live
// stream of this process registers for its account. When the subscription drops, every
// listener is told to resynchronise from the database, since messages may have been lost.
import type { Redis } from 'ioredis';
import type { AuditRecordView } from '../../shared/audit/audit-record.ts';
import type { Logger } from '../../shared/logger.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';

export interface AuditListener {
  records(records: readonly AuditRecordView[]): void;
  /** Live delivery may have missed records: re-read from the database. */
  resync(): void;
}

export class AuditFanout {
  private readonly listeners = new Map<number, Set<AuditListener>>();
  private readonly channelPrefix: string;

  constructor(
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
  ) {
    this.channelPrefix = keys.auditCommittedPattern.slice(0, -1);
  }

  async start(): Promise<void> {
    this.subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => this.dispatch(channel, message));
    this.subscriber.on('ready', () => this.resyncAll());
    await this.subscriber.psubscribe(this.keys.auditCommittedPattern);
  }

  add(accountId: number, listener: AuditListener): () => void {
    let set = this.listeners.get(accountId);
    if (!set) this.listeners.set(accountId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(accountId);
    };
  }

  get size(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  private dispatch(channel: string, message: string): void {
    if (!channel.startsWith(this.channelPrefix)) return;
    const accountId = Number(channel.slice(this.channelPrefix.length));
    const set = this.listeners.get(accountId);
    if (!set) return;
    let records: AuditRecordView[];
    try {
      records = JSON.parse(message) as AuditRecordView[];
      if (!Array.isArray(records)) throw new Error('not an array');
    } catch (err) {
      // A bad message only costs a resync: the database is the source of truth.
      this.log.warn({ err, channel }, 'unreadable audit fan-out message; resynchronising');
      for (const listener of set) listener.resync();
      return;
    }
    for (const listener of set) listener.records(records);
  }

  private resyncAll(): void {
    for (const set of this.listeners.values()) for (const listener of set) listener.resync();
  }
}

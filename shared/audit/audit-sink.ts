// Where producers put audit events. Processes with database access write them into the
// outbox inside the transaction of the change they describe (so a committed change always
// has its event); processes without it (executor nodes) append to the Redis stream.
import type { Redis } from 'ioredis';
import type { EntityManager } from 'typeorm';
import type { RedisKeys } from '../redis/keys.ts';
import type { AuditEvent } from './audit-event.ts';

export interface AuditSink {
  append(events: readonly AuditEvent[]): Promise<void>;
}

/** Appends to the audit stream; resolves once Redis has the entries. */
export class RedisAuditSink implements AuditSink {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async append(events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const event of events) pipeline.xadd(this.keys.auditStream, '*', 'event', JSON.stringify(event));
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0]!;
  }
}

/** Writes events into the outbox within the caller's transaction. */
export async function writeAuditOutbox(tx: EntityManager, events: readonly AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  await tx.query(`INSERT INTO audit_outbox (event) SELECT unnest($1::jsonb[])`, [events.map((e) => JSON.stringify(e))]);
}

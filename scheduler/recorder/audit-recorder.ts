// The audit recorder: drains the Redis audit stream (consumer group) and the database
// outbox into the hash chain, in batches, acknowledging stream entries only after commit.
//
// Several recorders may run; one holds the recorder lease and records, the others stand
// by and take over within one lease period when it dies. One active recorder keeps the
// chain in the order events were appended (two consumers of one stream would interleave
// a producer's events); the chain-head locks in chain-writer.ts are what keep chains from
// forking, even if two recorders ever both believed they held the lease.
//
// Killed at any instant it loses nothing: uncommitted stream entries stay pending in the
// group and the next leader claims and records them first, in stream order; outbox rows
// are deleted in the same transaction that records them. A stream entry committed but not
// yet acknowledged is redelivered and then dropped by the chain writer's event-id check.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { auditEventSchema, type AuditEvent } from '../../shared/audit/audit-event.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Closable } from '../../shared/process/lifecycle.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import { RedisLease } from '../../shared/redis/lease.ts';
import { AuditPartitions } from './audit-partitions.ts';
import { writeChainBatch, type CommittedRecord, type WriteOutcome } from './chain-writer.ts';

export interface RecorderOptions {
  readonly batchSize: number;
  /** How long the stream read waits for new entries when there is nothing to do. */
  readonly blockMs: number;
  /** Lease period: a dead leader is replaced within about this long. */
  readonly leaseMs: number;
}

export const DEFAULT_RECORDER_OPTIONS: RecorderOptions = { batchSize: 1000, blockMs: 50, leaseMs: 10_000 };

type StreamEntry = [id: string, fields: string[]];
type DeadLetter = { id: string; raw: string; reason: string };

export interface RecorderDeps {
  readonly db: DataSource;
  /** For XACK, XDEL, PUBLISH, the lease and dead letters. */
  readonly redis: Redis;
  /** A dedicated connection: XREADGROUP BLOCK holds it. */
  readonly reader: Redis;
  readonly keys: RedisKeys;
  readonly log: Logger;
  readonly options?: Partial<RecorderOptions>;
}

export class AuditRecorder implements Closable {
  readonly name = 'audit-recorder';
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly options: RecorderOptions;
  private readonly partitions: AuditPartitions;
  private readonly lease: RedisLease;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RecorderDeps) {
    this.options = { ...DEFAULT_RECORDER_OPTIONS, ...deps.options };
    this.partitions = new AuditPartitions(deps.db);
    this.lease = new RedisLease(deps.redis, deps.keys.auditRecorderLease, this.consumer, this.options.leaseMs);
  }

  async start(): Promise<void> {
    const { redis, keys } = this.deps;
    try {
      await redis.xgroup('CREATE', keys.auditStream, keys.auditConsumerGroup, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
    await this.partitions.ensure(new Date());
    this.loop = this.run();
    this.deps.log.info({ consumer: this.consumer }, 'audit recorder started');
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.lease.release().catch(() => undefined);
  }

  private async run(): Promise<void> {
    const { log } = this.deps;
    let renewedAt = 0;
    let backlog = true;
    let failures = 0;
    while (!this.stopped) {
      try {
        if (Date.now() - renewedAt >= this.options.leaseMs / 3 || !this.lease.isHeld) {
          const wasHeld = this.lease.isHeld;
          const held = await this.lease.acquireOrRenew();
          renewedAt = Date.now();
          if (held && !wasHeld) {
            log.info({ consumer: this.consumer }, 'audit recorder lease acquired; recording');
            await this.claimAllPending();
            backlog = true;
          } else if (!held && wasHeld) {
            log.warn({ consumer: this.consumer }, 'audit recorder lease lost; standing by');
          }
          if (!held) {
            await sleep(Math.min(500, this.options.leaseMs / 3));
            continue;
          }
        }
        const drained = await this.outboxStep();
        let entries = await this.read(backlog ? '0' : '>', drained > 0 ? 0 : this.options.blockMs);
        if (backlog && entries.length === 0) {
          backlog = false;
          entries = await this.read('>', drained > 0 ? 0 : this.options.blockMs);
        }
        if (entries.length > 0) await this.processStream(entries);
        failures = 0;
      } catch (err) {
        if (this.stopped) break;
        failures++;
        backlog = true;
        log.error({ err, failures }, 'audit recorder batch failed; will retry');
        await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  /** A new leader takes over every entry left pending by earlier consumers. */
  private async claimAllPending(): Promise<void> {
    const { redis, keys, log } = this.deps;
    let cursor = '0-0';
    let claimed = 0;
    do {
      const reply = (await redis.call(
        'XAUTOCLAIM', keys.auditStream, keys.auditConsumerGroup, this.consumer, 0, cursor, 'COUNT', this.options.batchSize, 'JUSTID',
      )) as [string, string[]];
      cursor = reply[0];
      claimed += reply[1].length;
    } while (cursor !== '0-0');
    if (claimed > 0) log.warn({ claimed }, 'claimed audit events left pending by an earlier recorder');
  }

  private async read(from: '0' | '>', blockMs: number): Promise<StreamEntry[]> {
    const { reader, keys } = this.deps;
    const args: (string | number)[] = ['GROUP', keys.auditConsumerGroup, this.consumer, 'COUNT', this.options.batchSize];
    if (from === '>' && blockMs > 0) args.push('BLOCK', blockMs);
    const reply = (await reader.call('XREADGROUP', ...args, 'STREAMS', keys.auditStream, from)) as [string, StreamEntry[]][] | null;
    // Entries deleted after delivery come back with null fields: nothing to record.
    return reply?.[0]?.[1] ?? [];
  }

  private async processStream(entries: StreamEntry[]): Promise<void> {
    const { redis, keys, db } = this.deps;
    const events: AuditEvent[] = [];
    const deadLetters: DeadLetter[] = [];
    for (const [id, fields] of entries) {
      if (fields === null) continue;
      const raw = fieldValue(fields, 'event');
      const parsed = parseEvent(raw);
      if (parsed.ok) events.push(parsed.event);
      else deadLetters.push({ id, raw: raw ?? '', reason: parsed.reason });
    }
    const outcome = await this.commit((now) => db.transaction((tx) => writeChainBatch(tx, events, now)));
    for (const orphan of outcome.orphans) deadLetters.push({ id: '', raw: JSON.stringify(orphan), reason: 'unknown account' });
    await this.deadLetter(deadLetters);
    const ids = entries.map(([id]) => id);
    const pipeline = redis.pipeline();
    pipeline.xack(keys.auditStream, keys.auditConsumerGroup, ...ids);
    pipeline.xdel(keys.auditStream, ...ids);
    await pipeline.exec();
    await this.publish(outcome.records);
  }

  /** Records one batch from the outbox; returns how many rows it drained. */
  private async outboxStep(): Promise<number> {
    const { db, log } = this.deps;
    const outcome = await this.commit((now) =>
      db.transaction(async (tx) => {
        // TypeORM answers a DELETE with [rows, rowCount].
        const [rows] = (await tx.query(
          `DELETE FROM audit_outbox WHERE id IN
             (SELECT id FROM audit_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING id, event`,
          [this.options.batchSize],
        )) as [{ id: string; event: unknown }[], number];
        rows.sort((a, b) => Number(a.id) - Number(b.id));
        const events: AuditEvent[] = [];
        const invalid: AuditEvent[] = [];
        for (const row of rows) {
          const parsed = auditEventSchema.safeParse(row.event);
          // Our own code wrote these in a transaction; a bad one is a bug: logged loudly
          // and kept in the dead-letter stream rather than silently lost.
          if (parsed.success) events.push(parsed.data);
          else {
            log.error({ outboxId: row.id, issues: parsed.error.issues }, 'invalid audit event in outbox dead-lettered');
            invalid.push(row.event as AuditEvent);
          }
        }
        const written = events.length > 0 ? await writeChainBatch(tx, events, now) : { records: [], duplicates: 0, orphans: [] };
        return { ...written, orphans: [...written.orphans, ...invalid], drained: rows.length };
      }),
    );
    await this.deadLetter(outcome.orphans.map((e) => ({ id: '', raw: JSON.stringify(e), reason: 'outbox event not recordable' })));
    await this.publish(outcome.records);
    return outcome.drained;
  }

  private async deadLetter(entries: readonly DeadLetter[]): Promise<void> {
    if (entries.length === 0) return;
    const { redis, keys, log } = this.deps;
    const pipeline = redis.pipeline();
    for (const dead of entries) pipeline.xadd(keys.auditDeadLetterStream, '*', 'event', dead.raw, 'reason', dead.reason, 'source_id', dead.id);
    await pipeline.exec();
    log.error({ count: entries.length, reasons: [...new Set(entries.map((d) => d.reason))] }, 'audit events dead-lettered');
  }

  private async commit<T extends WriteOutcome>(write: (now: Date) => Promise<T>): Promise<T> {
    const now = new Date();
    await this.partitions.ensure(now);
    return write(now);
  }

  /** Live streams learn of committed records here; a lost message only delays them (they re-read). */
  private async publish(records: readonly CommittedRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byAccount = new Map<number, CommittedRecord[]>();
    for (const r of records) {
      const list = byAccount.get(r.account_id) ?? [];
      list.push(r);
      byAccount.set(r.account_id, list);
    }
    const pipeline = this.deps.redis.pipeline();
    for (const [accountId, list] of byAccount) pipeline.publish(this.deps.keys.auditCommittedChannel(accountId), JSON.stringify(list));
    await pipeline.exec();
  }
}

function fieldValue(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function parseEvent(raw: string | undefined): { ok: true; event: AuditEvent } | { ok: false; reason: string } {
  if (raw === undefined) return { ok: false, reason: 'missing event field' };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const parsed = auditEventSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `${issue.path.join('.') || 'event'}: ${issue.message}` };
  }
  return { ok: true, event: parsed.data };
}

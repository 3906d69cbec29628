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
import { preparedStatement, queryPrepared, queryPreparedIn } from '../../shared/db/prepared-statement.ts';
import { AuditPartitions } from './audit-partitions.ts';
import { prepareChainBatch, writeChainBatch, type ChainHeads, type CommittedRecord, type PreparedBatch, type WriteOutcome } from './chain-writer.ts';

export interface RecorderOptions {
  readonly batchSize: number;
  /** How long the stream read waits for new entries when there is nothing to do. */
  readonly blockMs: number;
  /** Lease period: a dead leader is replaced within about this long. */
  readonly leaseMs: number;
}

export const DEFAULT_RECORDER_OPTIONS: RecorderOptions = { batchSize: 5000, blockMs: 50, leaseMs: 10_000 };

type StreamEntry = [id: string, fields: string[]];
type DeadLetter = { id: string; raw: string; reason: string };
interface ParsedBatch {
  readonly ids: string[];
  readonly events: AuditEvent[];
  readonly deadLetters: DeadLetter[];
  /** Chained ahead against the heads the previous batch will leave, when known. */
  prepared?: PreparedBatch;
}

const noWrite = (): WriteOutcome => ({ records: [], duplicates: 0, orphans: [], heads: new Map(), usedPrepared: false });

/**
 * Whether the outbox holds anything: asked instead of taking it while the last take found
 * it empty, because an idle recorder comes back every blockMs, and a take is a whole
 * transaction (BEGIN, DELETE ... RETURNING, COMMIT) where this is one statement.
 */
const OUTBOX_HAS_ROWS = preparedStatement('recorder-outbox-has-rows', `SELECT EXISTS (SELECT 1 FROM audit_outbox) AS any`);

/** The outbox step's take, prepared once per connection (shared/db/prepared-statement.ts). */
const TAKE_OUTBOX = preparedStatement(
  'recorder-take-outbox',
  `DELETE FROM audit_outbox WHERE id IN (SELECT id FROM audit_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
   RETURNING id, event`,
);

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
  /** Acknowledgements run behind the next batch's transaction; awaited before standing down. */
  private acks: Promise<void> = Promise.resolve();
  /** Chain heads as of our last commit: the prediction next batches are prepared against. */
  private heads: ChainHeads = new Map();
  /** The last outbox take found nothing: the next step only asks whether anything came. */
  private outboxSeenEmpty = false;

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
    await this.acks;
    await this.lease.release().catch(() => undefined);
  }

  private async run(): Promise<void> {
    const { log } = this.deps;
    let renewedAt = 0;
    let backlog = true;
    let failures = 0;
    // While one batch commits, the next is read and parsed: PostgreSQL and Node then work
    // in parallel. Only new entries ('>') are prefetched; pending ones are re-read in order.
    let prefetched: Promise<ParsedBatch> | null = null;
    const dropPrefetch = async () => {
      if (prefetched) await prefetched.catch(() => undefined);
      prefetched = null;
    };
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
            await dropPrefetch();
            await this.acks;
          }
          if (!held) {
            await sleep(Math.min(500, this.options.leaseMs / 3));
            continue;
          }
        }
        const drained = await this.outboxStep();
        if (backlog) {
          const pending = parseEntries(await this.read('0', 0));
          if (pending.ids.length > 0) {
            await this.processStream(pending);
            await this.acks; // or the next '0' read returns the same entries again
          } else backlog = false;
          continue;
        }
        // A full outbox batch means more are waiting: straight back to the outbox. Otherwise
        // the outbox is drained and the stream read may wait for entries: outbox events
        // arriving meanwhile wait up to blockMs and are then recorded together, rather than
        // a transaction each (at a synchronous caller's pace, that was most of our CPU).
        const batch: ParsedBatch = await (prefetched ?? this.readParsed(drained >= this.options.batchSize ? 0 : this.options.blockMs));
        if (batch.ids.length > 0) {
          batch.prepared ??= this.prepare(batch.events, this.heads);
          // Read the next entries now; parse and chain them while PostgreSQL inserts this batch.
          const predicted = batch.prepared.headsAfter;
          let ready: StreamEntry[] | null = null;
          let next: ParsedBatch | null = null;
          const reading = this.read('>', 0).then((entries) => (ready = entries));
          const prepareNext = () => {
            if (ready && !next) {
              next = parseEntries(ready);
              next.prepared = this.prepare(next.events, predicted);
            }
          };
          prefetched = reading.then(() => {
            prepareNext();
            return next!;
          });
          await this.processStream(batch, prepareNext);
        } else prefetched = null;
        failures = 0;
      } catch (err) {
        await dropPrefetch();
        if (this.stopped) break;
        failures++;
        backlog = true;
        log.error({ err, failures }, 'audit recorder batch failed; will retry');
        await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
    await dropPrefetch();
  }

  private async readParsed(blockMs: number): Promise<ParsedBatch> {
    return parseEntries(await this.read('>', blockMs));
  }

  private prepare(events: readonly AuditEvent[], heads: ChainHeads): PreparedBatch {
    // The partition for `now` is ensured by commit() before the batch is written.
    return prepareChainBatch(events, heads, new Date());
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
    return reply?.[0]?.[1] ?? [];
  }

  private async processStream(batch: ParsedBatch, whileInserting?: () => void): Promise<void> {
    const { redis, keys, db } = this.deps;
    const outcome = await this.commit((now) => db.transaction((tx) => writeChainBatch(tx, batch.events, now, { prepared: batch.prepared, whileInserting })));
    this.heads = new Map([...this.heads, ...outcome.heads]);
    const deadLetters = [...batch.deadLetters, ...outcome.orphans.map((o) => ({ id: '', raw: JSON.stringify(o), reason: 'unknown account' }))];
    // Committed: acknowledge and publish in the background, in order, while the next batch
    // is recorded. A failed acknowledgement only means a redelivery, which is deduplicated.
    const previous = this.acks;
    this.acks = (async () => {
      await previous;
      await this.deadLetter(deadLetters);
      const pipeline = redis.pipeline();
      pipeline.xack(keys.auditStream, keys.auditConsumerGroup, ...batch.ids);
      pipeline.xdel(keys.auditStream, ...batch.ids);
      await pipeline.exec();
      await this.publish(outcome.records);
    })().catch((err) => this.deps.log.warn({ err }, 'audit acknowledgement failed; entries will be redelivered and deduplicated'));
  }

  /** Records one batch from the outbox; returns how many rows it drained. */
  private async outboxStep(): Promise<number> {
    const { db, log } = this.deps;
    if (this.outboxSeenEmpty) {
      const [probe] = await queryPrepared<{ any: boolean }>(db, OUTBOX_HAS_ROWS, []);
      if (!probe?.any) return 0;
    }
    const outcome = await this.commit((now) =>
      db.transaction(async (tx) => {
        const rows = await queryPreparedIn<{ id: string; event: unknown }>(tx, TAKE_OUTBOX, [this.options.batchSize]);
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
        // Taken and deleted in this transaction: each outbox row is recorded exactly once.
        const written = events.length > 0 ? await writeChainBatch(tx, events, now, { deliveredOnce: true }) : noWrite();
        return { ...written, orphans: [...written.orphans, ...invalid], drained: rows.length };
      }),
    );
    if (outcome.records.length > 0) this.heads = new Map([...this.heads, ...outcome.heads]);
    await this.deadLetter(outcome.orphans.map((e) => ({ id: '', raw: JSON.stringify(e), reason: 'outbox event not recordable' })));
    await this.publish(outcome.records);
    this.outboxSeenEmpty = outcome.drained === 0;
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

  private async commit<T extends Pick<WriteOutcome, 'records' | 'orphans' | 'heads'>>(write: (now: Date) => Promise<T>): Promise<T> {
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

function parseEntries(entries: StreamEntry[]): ParsedBatch {
  const batch: ParsedBatch = { ids: [], events: [], deadLetters: [] };
  for (const [id, fields] of entries) {
    batch.ids.push(id);
    // Entries deleted after delivery come back with null fields: nothing to record.
    if (fields === null) continue;
    const raw = fieldValue(fields, 'event');
    const parsed = parseEvent(raw);
    if (parsed.ok) batch.events.push(parsed.event);
    else batch.deadLetters.push({ id, raw: raw ?? '', reason: parsed.reason });
  }
  return batch;
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

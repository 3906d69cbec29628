// Gives each audit event its place in its account's chain and inserts the batch in one
// statement, inside the caller's transaction.
//
// Why two recorders never fork a chain: before a batch is inserted, the writer locks the
// chain-head row of every account in it (SELECT ... FOR UPDATE, in account order so two
// writers cannot deadlock). A second writer for the same account waits on that lock until
// the first commits, then reads the new head. Rows are only ever inserted with sequence
// numbers and prev_hash derived from the locked heads.
//
// Why a redelivered event is not written twice: under the same locks, the writer looks up
// the batch's event ids among records recorded since the earliest event occurred (minus a
// clock-skew margin, which also lets PostgreSQL skip older monthly partitions) and drops
// those already present. An event belongs to one account, so no other writer can insert it
// meanwhile.
//
// Speed: hashing and serialising a batch may be done ahead (prepareChainBatch) against the
// heads the caller expects; the transaction then only checks that the locked heads are
// exactly those and that nothing was a duplicate, and otherwise prepares the batch again.
import type { EntityManager } from 'typeorm';
import { actionCategory, type AuditEvent } from '../../shared/audit/audit-event.ts';
import { computeRecordHash, GENESIS_PREV_HASH } from '../../shared/audit/record-hash.ts';
import type { AuditRecordView } from '../../shared/audit/audit-record.ts';
import { pgArray } from '../../shared/db/pg-array.ts';
import { preparedStatement, queryPreparedIn } from '../../shared/db/prepared-statement.ts';

export const CLOCK_SKEW_MARGIN_MS = 60 * 60 * 1000;

export interface CommittedRecord extends AuditRecordView {
  readonly account_id: number;
}

export interface ChainHead {
  readonly sequence: number;
  readonly hash: string;
  readonly recordedAt: number;
}

export type ChainHeads = ReadonlyMap<number, ChainHead>;

export interface PreparedBatch {
  readonly events: readonly AuditEvent[];
  /** The heads the rows were chained onto; the write is valid only if they still hold. */
  readonly headsBefore: ChainHeads;
  readonly headsAfter: ChainHeads;
  readonly records: Omit<CommittedRecord, 'id'>[];
  /** The INSERT's sixteen array parameters, already serialised. */
  readonly params: string[];
}

export interface WriteOutcome {
  readonly records: CommittedRecord[];
  /** Events dropped because they were already recorded (redeliveries). */
  readonly duplicates: number;
  /** Events whose account does not exist; the caller dead-letters them. */
  readonly orphans: AuditEvent[];
  /** Heads after the write, for the next prepared batch. */
  readonly heads: ChainHeads;
  /** Whether a batch prepared ahead was used as is. */
  readonly usedPrepared: boolean;
}

const NEW_HEAD: ChainHead = { sequence: 0, hash: GENESIS_PREV_HASH, recordedAt: 0 };

/**
 * Chains `events` onto `heads` (an account missing from `heads` starts a new chain) and
 * serialises the INSERT parameters. Pure: no I/O.
 */
export function prepareChainBatch(events: readonly AuditEvent[], heads: ChainHeads, now: Date): PreparedBatch {
  const after = new Map<number, ChainHead>();
  const batchTime = now.getTime();
  const records = events.map((event) => {
    const head = after.get(event.account_id) ?? heads.get(event.account_id) ?? NEW_HEAD;
    // recorded_at never goes backwards within an account, so time order is chain order.
    const recordedAt = Math.max(batchTime, head.recordedAt);
    const record = {
      account_id: event.account_id,
      sequence: head.sequence + 1,
      recorded_at: new Date(recordedAt).toISOString(),
      event_id: event.event_id,
      agent_id: event.agent_id,
      execution_id: event.execution_id,
      actor: event.actor,
      action_type: event.action_type,
      action_category: actionCategory(event.action_type),
      description: event.description,
      input_summary: event.input_summary,
      output_summary: event.output_summary,
      permission_state: event.permission_state as Record<string, unknown>,
      is_violation: event.is_violation,
      prev_hash: head.hash,
      hash: '',
    };
    record.hash = computeRecordHash(
      {
        ...record,
        account_id: String(record.account_id),
        agent_id: record.agent_id === null ? null : String(record.agent_id),
        execution_id: record.execution_id === null ? null : String(record.execution_id),
      },
      head.hash,
    );
    after.set(event.account_id, { sequence: record.sequence, hash: record.hash, recordedAt });
    return record;
  });
  const col = <K extends keyof (typeof records)[number]>(k: K) => records.map((r) => r[k] as string | number | boolean | null);
  const params = [
    pgArray(col('account_id')),
    pgArray(col('sequence')),
    pgArray(col('recorded_at')),
    pgArray(col('event_id')),
    pgArray(col('agent_id')),
    pgArray(col('execution_id')),
    pgArray(col('actor')),
    pgArray(col('action_type')),
    pgArray(col('action_category')),
    pgArray(col('description')),
    pgArray(col('input_summary')),
    pgArray(col('output_summary')),
    pgArray(records.map((r) => JSON.stringify(r.permission_state))),
    pgArray(col('is_violation')),
    pgArray(col('prev_hash')),
    pgArray(col('hash')),
  ];
  const headsBefore = new Map<number, ChainHead>();
  for (const event of events) if (!headsBefore.has(event.account_id)) headsBefore.set(event.account_id, heads.get(event.account_id) ?? NEW_HEAD);
  return { events, headsBefore, headsAfter: new Map([...heads, ...after]), records, params };
}

function sameHeads(expected: ChainHeads, locked: ChainHeads): boolean {
  for (const [account, head] of expected) {
    const actual = locked.get(account);
    if (!actual || actual.sequence !== head.sequence || actual.hash !== head.hash || actual.recordedAt > head.recordedAt) return false;
  }
  return true;
}

// Every recorder transaction runs these: prepared once per connection (shared/db/prepared-statement.ts).
const CREATE_HEADS = preparedStatement(
  'chain-create-heads',
  `INSERT INTO audit_chain_heads (account_id) SELECT id FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id ON CONFLICT DO NOTHING`,
);
const LOCK_HEADS = preparedStatement(
  'chain-lock-heads',
  `SELECT account_id, last_sequence, last_hash, last_recorded_at FROM audit_chain_heads
    WHERE account_id = ANY($1::bigint[]) ORDER BY account_id FOR UPDATE`,
);
// One index probe per event id, whatever the statistics say. Written as
// `event_id = ANY($1) AND recorded_at >= $2`, a custom plan for a batch of hundreds of ids
// on a partition never analysed (a new month's, or where autovacuum is off) read every
// record since the time bound through the account-and-time index instead: 17 ms at 60,000
// records and growing, and PostgreSQL's CPU per async execution tripled in the benchmark.
const RECORDED_EVENT_IDS = preparedStatement(
  'chain-recorded-event-ids',
  `SELECT r.event_id FROM unnest($1::text[]) AS e(id)
     CROSS JOIN LATERAL (SELECT event_id FROM audit_records WHERE event_id = e.id AND recorded_at >= $2 LIMIT 1) r`,
);
const INSERT_RECORDS = preparedStatement(
  'chain-insert-records',
  `INSERT INTO audit_records (account_id, sequence, recorded_at, event_id, agent_id, execution_id, actor, action_type,
      action_category, description, input_summary, output_summary, permission_state, is_violation, prev_hash, hash)
   SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::text[], $5::bigint[], $6::bigint[], $7::text[],
      $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[], $14::boolean[], $15::text[], $16::text[])
   RETURNING id, account_id, sequence`,
);
const ADVANCE_HEADS = preparedStatement(
  'chain-advance-heads',
  `UPDATE audit_chain_heads h SET last_sequence = v.seq, last_hash = v.hash, last_recorded_at = v.at
     FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[]) AS v(account_id, seq, hash, at)
    WHERE h.account_id = v.account_id`,
);

export interface WriteOptions {
  /** Hashed ahead against the heads the caller expects (prepareChainBatch). */
  readonly prepared?: PreparedBatch;
  /** Runs once the INSERT is on its way: CPU work here overlaps PostgreSQL's. */
  readonly whileInserting?: () => void;
  /**
   * The events come from a source that delivers each one once: the outbox, whose rows this
   * same transaction deletes, so none can have been recorded before. Skips the check for
   * events already recorded, which only the stream (at-least-once) needs.
   */
  readonly deliveredOnce?: boolean;
}

/** The events not recorded yet, in order; a duplicate within the batch is dropped too. */
async function notYetRecorded(tx: EntityManager, candidates: readonly AuditEvent[]): Promise<AuditEvent[]> {
  // The recorded_at bound matches nearly every row of the newest partition, which tempts
  // the planner into a sequential scan that grows with the table; the event_id index
  // answers in milliseconds whatever the size.
  await tx.query(`SET LOCAL enable_seqscan = off`);
  const earliest = Math.min(...candidates.map((e) => Date.parse(e.occurred_at))) - CLOCK_SKEW_MARGIN_MS;
  const seen = new Set<string>(
    (await queryPreparedIn<{ event_id: string }>(tx, RECORDED_EVENT_IDS, [pgArray(candidates.map((e) => e.event_id)), new Date(earliest)])).map((r) => r.event_id),
  );
  const fresh: AuditEvent[] = [];
  for (const event of candidates) {
    if (seen.has(event.event_id)) continue;
    seen.add(event.event_id);
    fresh.push(event);
  }
  return fresh;
}

export async function writeChainBatch(tx: EntityManager, events: readonly AuditEvent[], now: Date, options: WriteOptions = {}): Promise<WriteOutcome> {
  const { prepared, whileInserting } = options;
  if (events.length === 0) return { records: [], duplicates: 0, orphans: [], heads: new Map(), usedPrepared: false };
  const accountIds = [...new Set(events.map((e) => e.account_id))].sort((a, b) => a - b);
  // Heads exist only for real accounts (the insert selects from accounts), so an account
  // without a locked head is unknown and its events are orphans.
  await queryPreparedIn(tx, CREATE_HEADS, [accountIds]);
  const headRows = await queryPreparedIn<{ account_id: string; last_sequence: string; last_hash: string; last_recorded_at: Date | null }>(tx, LOCK_HEADS, [accountIds]);
  const locked = new Map<number, ChainHead>(
    headRows.map((h) => [Number(h.account_id), { sequence: Number(h.last_sequence), hash: h.last_hash, recordedAt: h.last_recorded_at?.getTime() ?? 0 }]),
  );
  const orphans = events.filter((e) => !locked.has(e.account_id));
  if (locked.size === 0) return { records: [], duplicates: 0, orphans, heads: new Map(), usedPrepared: false };

  const candidates = orphans.length === 0 ? events : events.filter((e) => locked.has(e.account_id));
  const fresh: readonly AuditEvent[] = options.deliveredOnce ? candidates : await notYetRecorded(tx, candidates);
  const duplicates = candidates.length - fresh.length;
  if (fresh.length === 0) return { records: [], duplicates, orphans, heads: locked, usedPrepared: false };

  const usedPrepared = prepared !== undefined && duplicates === 0 && orphans.length === 0 && prepared.events.length === fresh.length && sameHeads(prepared.headsBefore, locked);
  const batch = usedPrepared ? prepared : prepareChainBatch(fresh, locked, now);

  const insertion = queryPreparedIn<{ id: string; account_id: string; sequence: string }>(tx, INSERT_RECORDS, batch.params);
  if (whileInserting) {
    await new Promise<void>((resolve) => setImmediate(resolve)); // let the query reach the socket
    whileInserting();
  }
  const inserted = await insertion;
  // RETURNING order is not guaranteed to follow the input: match ids by (account, sequence).
  const idOf = new Map(inserted.map((r) => [`${r.account_id}:${r.sequence}`, Number(r.id)]));

  const touched = [...new Set(fresh.map((e) => e.account_id))].map((id) => [id, batch.headsAfter.get(id)!] as const);
  await queryPreparedIn(tx, ADVANCE_HEADS, [
    touched.map(([id]) => id),
    touched.map(([, h]) => h.sequence),
    touched.map(([, h]) => h.hash),
    touched.map(([, h]) => new Date(h.recordedAt)),
  ]);

  const heads = new Map(locked);
  for (const [id, head] of touched) heads.set(id, head);
  const records = batch.records.map((r) => ({ ...r, id: idOf.get(`${r.account_id}:${r.sequence}`)! }));
  return { records, duplicates, orphans, heads, usedPrepared };
}

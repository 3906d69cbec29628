// Gives each audit event its place in its account's chain and inserts the batch in one
// statement, inside the caller's transaction.
//
// Why two recorders never fork a chain: before assigning sequence numbers, the writer
// locks the chain-head row of every account in the batch (SELECT ... FOR UPDATE, in
// account order so two writers cannot deadlock). A second writer for the same account
// waits on that lock until the first commits, then reads the new head. Sequence numbers
// and prev_hash are only ever derived from a locked head.
//
// Why a redelivered event is not written twice: under the same locks, the writer looks up
// the batch's event ids among records recorded since the earliest event occurred (minus a
// clock-skew margin, which also lets PostgreSQL skip older monthly partitions) and drops
// those already present. An event belongs to one account, so no other writer can insert it
// meanwhile.
import type { EntityManager } from 'typeorm';
import { actionCategory, type AuditEvent } from '../../shared/audit/audit-event.ts';
import { computeRecordHash } from '../../shared/audit/record-hash.ts';
import type { AuditRecordView } from '../../shared/audit/audit-record.ts';

export const CLOCK_SKEW_MARGIN_MS = 60 * 60 * 1000;

export interface CommittedRecord extends AuditRecordView {
  readonly account_id: number;
}

interface Head {
  sequence: number;
  hash: string;
  recordedAt: number;
}

export interface WriteOutcome {
  readonly records: CommittedRecord[];
  /** Events dropped because they were already recorded (redeliveries). */
  readonly duplicates: number;
  /** Events whose account does not exist; the caller dead-letters them. */
  readonly orphans: AuditEvent[];
}

export async function writeChainBatch(tx: EntityManager, events: readonly AuditEvent[], now: Date): Promise<WriteOutcome> {
  if (events.length === 0) return { records: [], duplicates: 0, orphans: [] };
  const accountIds = [...new Set(events.map((e) => e.account_id))].sort((a, b) => a - b);
  const existing = new Set<number>(
    ((await tx.query(`SELECT id FROM accounts WHERE id = ANY($1::bigint[])`, [accountIds])) as { id: string }[]).map((r) => Number(r.id)),
  );
  const orphans = events.filter((e) => !existing.has(e.account_id));
  const live = accountIds.filter((id) => existing.has(id));
  if (live.length === 0) return { records: [], duplicates: 0, orphans };

  await tx.query(`INSERT INTO audit_chain_heads (account_id) SELECT unnest($1::bigint[]) ON CONFLICT DO NOTHING`, [live]);
  const headRows = (await tx.query(
    `SELECT account_id, last_sequence, last_hash, last_recorded_at FROM audit_chain_heads
      WHERE account_id = ANY($1::bigint[]) ORDER BY account_id FOR UPDATE`,
    [live],
  )) as { account_id: string; last_sequence: string; last_hash: string; last_recorded_at: Date | null }[];
  const heads = new Map<number, Head>(
    headRows.map((h) => [Number(h.account_id), { sequence: Number(h.last_sequence), hash: h.last_hash, recordedAt: h.last_recorded_at?.getTime() ?? 0 }]),
  );

  const candidates = events.filter((e) => existing.has(e.account_id));
  const earliest = Math.min(...candidates.map((e) => Date.parse(e.occurred_at))) - CLOCK_SKEW_MARGIN_MS;
  const seen = new Set<string>(
    ((await tx.query(`SELECT event_id FROM audit_records WHERE event_id = ANY($1::text[]) AND recorded_at >= $2`, [
      candidates.map((e) => e.event_id),
      new Date(earliest),
    ])) as { event_id: string }[]).map((r) => r.event_id),
  );
  const fresh: AuditEvent[] = [];
  for (const event of candidates) {
    if (seen.has(event.event_id)) continue;
    seen.add(event.event_id); // also drops a duplicate within the batch
    fresh.push(event);
  }
  const duplicates = candidates.length - fresh.length;
  if (fresh.length === 0) return { records: [], duplicates, orphans };

  // recorded_at never goes backwards within an account, so time order is chain order.
  const batchTime = now.getTime();
  const rows = fresh.map((event) => {
    const head = heads.get(event.account_id)!;
    const recordedAt = new Date(Math.max(batchTime, head.recordedAt));
    const fields = {
      account_id: String(event.account_id),
      sequence: head.sequence + 1,
      recorded_at: recordedAt.toISOString(),
      event_id: event.event_id,
      agent_id: event.agent_id === null ? null : String(event.agent_id),
      execution_id: event.execution_id === null ? null : String(event.execution_id),
      actor: event.actor,
      action_type: event.action_type,
      action_category: actionCategory(event.action_type),
      description: event.description,
      input_summary: event.input_summary,
      output_summary: event.output_summary,
      permission_state: event.permission_state,
      is_violation: event.is_violation,
    };
    const hash = computeRecordHash(fields, head.hash);
    const row = { ...fields, prev_hash: head.hash, hash, recordedAt };
    head.sequence = fields.sequence;
    head.hash = hash;
    head.recordedAt = recordedAt.getTime();
    return row;
  });

  const column = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
  const inserted = (await tx.query(
    `INSERT INTO audit_records (account_id, sequence, recorded_at, event_id, agent_id, execution_id, actor, action_type,
        action_category, description, input_summary, output_summary, permission_state, is_violation, prev_hash, hash)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::text[], $5::bigint[], $6::bigint[], $7::text[],
        $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[], $14::boolean[], $15::text[], $16::text[])
     RETURNING id, account_id, sequence`,
    [
      column('account_id'),
      column('sequence'),
      column('recordedAt'),
      column('event_id'),
      column('agent_id'),
      column('execution_id'),
      column('actor'),
      column('action_type'),
      column('action_category'),
      column('description'),
      column('input_summary'),
      column('output_summary'),
      rows.map((r) => JSON.stringify(r.permission_state)),
      column('is_violation'),
      column('prev_hash'),
      column('hash'),
    ],
  )) as { id: string; account_id: string; sequence: string }[];
  // RETURNING order is not guaranteed to follow the input: match ids by (account, sequence).
  const idOf = new Map(inserted.map((r) => [`${r.account_id}:${r.sequence}`, Number(r.id)]));

  const touched = [...heads.entries()].filter(([id]) => fresh.some((e) => e.account_id === id));
  await tx.query(
    `UPDATE audit_chain_heads h SET last_sequence = v.seq, last_hash = v.hash, last_recorded_at = v.at
       FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[]) AS v(account_id, seq, hash, at)
      WHERE h.account_id = v.account_id`,
    [touched.map(([id]) => id), touched.map(([, h]) => h.sequence), touched.map(([, h]) => h.hash), touched.map(([, h]) => new Date(h.recordedAt))],
  );

  const records = rows.map((r) => ({
    id: idOf.get(`${r.account_id}:${r.sequence}`)!,
    account_id: Number(r.account_id),
    sequence: r.sequence,
    recorded_at: r.recorded_at,
    event_id: r.event_id,
    agent_id: r.agent_id === null ? null : Number(r.agent_id),
    execution_id: r.execution_id === null ? null : Number(r.execution_id),
    actor: r.actor,
    action_type: r.action_type,
    action_category: r.action_category,
    description: r.description,
    input_summary: r.input_summary,
    output_summary: r.output_summary,
    permission_state: r.permission_state as Record<string, unknown>,
    is_violation: r.is_violation,
    prev_hash: r.prev_hash,
    hash: r.hash,
  }));
  return { records, duplicates, orphans };
}

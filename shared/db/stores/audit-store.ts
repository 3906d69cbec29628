// Reads of the audit trail: filtered pages, streaming export, per-range summaries and
// chain verification. Every read is scoped to one account.
import type { DataSource } from 'typeorm';
import { AUDIT_RECORD_COLUMNS, hashedFieldsOf, type AuditRecordRow } from '../../audit/audit-record.ts';
import { GENESIS_PREV_HASH, FIRST_SEQUENCE, verifyChain, type ChainBreakReason } from '../../audit/record-hash.ts';

export interface AuditFilter {
  readonly accountId: number;
  readonly from?: Date;
  /** Exclusive upper bound. */
  readonly toExclusive?: Date;
  readonly actionTypes?: readonly string[];
  readonly violationsOnly?: boolean;
  readonly agentId?: number;
  readonly executionId?: number;
}

export type ChainStatus =
  | { valid: true; checked: number }
  | { valid: false; checked: number; broken_at: { record_id: number | null; sequence: number; reason: ChainBreakReason } };

const PAGE = 2000;

/** A DataSource or a transaction's EntityManager. */
interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

function whereClause(f: AuditFilter, params: unknown[]): string {
  const parts = ['account_id = $1'];
  params.push(f.accountId);
  const add = (sql: string, value: unknown) => {
    params.push(value);
    parts.push(sql.replace('?', `$${params.length}`));
  };
  if (f.from) add('recorded_at >= ?', f.from);
  if (f.toExclusive) add('recorded_at < ?', f.toExclusive);
  if (f.actionTypes && f.actionTypes.length > 0) add('action_type = ANY(?::text[])', f.actionTypes);
  if (f.violationsOnly) parts.push('is_violation');
  if (f.agentId !== undefined) add('agent_id = ?', f.agentId);
  if (f.executionId !== undefined) add('execution_id = ?', f.executionId);
  return parts.join(' AND ');
}

export class AuditStore {
  constructor(private readonly db: DataSource) {}

  /** One page in chain order after `afterSequence`; `hasMore` says whether another follows. */
  async page(filter: AuditFilter, afterSequence: number, limit: number, runner: Queryable = this.db): Promise<{ rows: AuditRecordRow[]; hasMore: boolean }> {
    const params: unknown[] = [];
    const where = whereClause(filter, params);
    params.push(afterSequence, limit + 1);
    const rows = (await runner.query(
      `SELECT ${AUDIT_RECORD_COLUMNS} FROM audit_records WHERE ${where} AND sequence > $${params.length - 1}
        ORDER BY sequence LIMIT $${params.length}`,
      params,
    )) as AuditRecordRow[];
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /** A page and the total of all matches, read from one snapshot so they agree. */
  async pageWithTotal(filter: AuditFilter, afterSequence: number, limit: number): Promise<{ rows: AuditRecordRow[]; hasMore: boolean; total: number }> {
    return this.db.transaction('REPEATABLE READ', async (tx) => {
      const page = await this.page(filter, afterSequence, limit, tx);
      return { ...page, total: await this.count(filter, tx) };
    });
  }

  async count(filter: AuditFilter, runner: Queryable = this.db): Promise<number> {
    const params: unknown[] = [];
    const [row] = (await runner.query(`SELECT count(*)::bigint AS n FROM audit_records WHERE ${whereClause(filter, params)}`, params)) as { n: string }[];
    return Number(row!.n);
  }

  /** Every matching record in chain order, fetched a page at a time (memory stays flat). */
  async *iterate(filter: AuditFilter, afterSequence = 0): AsyncGenerator<AuditRecordRow> {
    let cursor = afterSequence;
    for (;;) {
      const { rows, hasMore } = await this.page(filter, cursor, PAGE);
      for (const row of rows) yield row;
      if (!hasMore || rows.length === 0) return;
      cursor = Number(rows[rows.length - 1]!.sequence);
    }
  }

  async sequenceRange(filter: AuditFilter): Promise<{ first: number; last: number } | null> {
    const params: unknown[] = [];
    const [row] = (await this.db.query(
      `SELECT min(sequence) AS first, max(sequence) AS last FROM audit_records WHERE ${whereClause(filter, params)}`,
      params,
    )) as { first: string | null; last: string | null }[];
    return row?.first ? { first: Number(row.first), last: Number(row.last) } : null;
  }

  async countsByActionType(filter: AuditFilter): Promise<{ byType: Record<string, number>; violations: number }> {
    const params: unknown[] = [];
    const rows = (await this.db.query(
      `SELECT action_type, count(*)::bigint AS n, count(*) FILTER (WHERE is_violation)::bigint AS v
         FROM audit_records WHERE ${whereClause(filter, params)} GROUP BY action_type ORDER BY action_type`,
      params,
    )) as { action_type: string; n: string; v: string }[];
    return {
      byType: Object.fromEntries(rows.map((r) => [r.action_type, Number(r.n)])),
      violations: rows.reduce((sum, r) => sum + Number(r.v), 0),
    };
  }

  async findRecord(accountId: number, recordId: number): Promise<AuditRecordRow | null> {
    const rows = (await this.db.query(`SELECT ${AUDIT_RECORD_COLUMNS} FROM audit_records WHERE id = $1 AND account_id = $2`, [recordId, accountId])) as AuditRecordRow[];
    return rows[0] ?? null;
  }

  async findBySequence(accountId: number, sequence: number): Promise<AuditRecordRow | null> {
    const rows = (await this.db.query(`SELECT ${AUDIT_RECORD_COLUMNS} FROM audit_records WHERE account_id = $1 AND sequence = $2`, [accountId, sequence])) as AuditRecordRow[];
    return rows[0] ?? null;
  }

  /** The account's current chain head (0 when it has no records). */
  async headSequence(accountId: number): Promise<number> {
    const rows = (await this.db.query(`SELECT last_sequence FROM audit_chain_heads WHERE account_id = $1`, [accountId])) as { last_sequence: string }[];
    return rows[0] ? Number(rows[0].last_sequence) : 0;
  }

  /**
   * Re-derives every hash of the account's chain in sequence order, from `fromSequence`
   * (whose predecessor, if any, must be present) up to `toSequence`, and stops at the first
   * break: a missing or extra sequence, a prev_hash that is not the previous hash, a hash
   * that does not follow from the fields.
   */
  async verifyChain(accountId: number, options: { fromSequence?: number; toSequence?: number } = {}): Promise<ChainStatus> {
    const from = options.fromSequence ?? FIRST_SEQUENCE;
    let expected = { sequence: from, prevHash: GENESIS_PREV_HASH };
    if (from > FIRST_SEQUENCE) {
      const previous = await this.findBySequence(accountId, from - 1);
      if (!previous) return { valid: false, checked: 0, broken_at: { record_id: null, sequence: from - 1, reason: 'sequence_gap' } };
      expected = { sequence: from, prevHash: previous.hash };
    }
    let checked = 0;
    let batch: ReturnType<typeof hashedFieldsOf>[] = [];
    const flush = (): ChainStatus | null => {
      const result = verifyChain(batch, expected);
      if (!result.valid) {
        const { sequence, id, reason } = result.brokenAt;
        return { valid: false, checked: checked + (sequence - expected.sequence), broken_at: { record_id: id === undefined ? null : Number(id), sequence, reason } };
      }
      checked += result.checked;
      const last = batch[batch.length - 1];
      if (last) expected = { sequence: last.sequence + 1, prevHash: last.hash };
      batch = [];
      return null;
    };
    for await (const row of this.iterate({ accountId }, from - 1)) {
      const fields = hashedFieldsOf(row);
      if (options.toSequence !== undefined && fields.sequence > options.toSequence) break;
      batch.push(fields);
      if (batch.length >= PAGE) {
        const broken = flush();
        if (broken) return broken;
      }
    }
    const broken = flush();
    if (broken) return broken;
    // Records missing at the end leave no broken link behind them: compare with the head
    // (or with the record the caller asked about).
    const end = options.toSequence ?? (await this.headSequence(accountId));
    if (expected.sequence <= end) {
      return { valid: false, checked, broken_at: { record_id: null, sequence: expected.sequence, reason: 'sequence_gap' } };
    }
    return { valid: true, checked };
  }
}

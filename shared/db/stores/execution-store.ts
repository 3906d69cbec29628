// Execution rows. Every final state is written by one conditional UPDATE (finished_at IS
// NULL), so whichever of result, refusal, node loss or sweep comes first wins and the
// others change nothing: each execution's final state is written exactly once.
import type { DataSource } from 'typeorm';
import { auditEvent, type AuditEventInput } from '../../audit/audit-event.ts';
import type { FinalStatus } from '../../execution/statuses.ts';

export interface ExecutionRow {
  id: number;
  account_id: number;
  agent_id: number;
  status: string;
  input: unknown;
  output: unknown;
  error: { code: string; message: string; stack?: string | null } | null;
  resource_usage: Record<string, number> | null;
  host_call_audit: unknown[] | null;
  logs: unknown[] | null;
  violation_count: number;
  was_terminated: boolean;
  node_id: string | null;
  pool: string | null;
  attempts: number;
  queued_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: number | null;
}

const COLUMNS = `id::float8 AS id, account_id::float8 AS account_id, agent_id::float8 AS agent_id, status, input, output, error,
  resource_usage, host_call_audit, logs, violation_count, was_terminated, node_id, pool, attempts, queued_at, started_at,
  finished_at, duration_ms`;

export interface FinalFields {
  status: FinalStatus;
  output?: unknown;
  error?: { code: string; message: string; stack?: string | null } | null;
  resource_usage?: Record<string, number> | null;
  host_call_audit?: unknown[] | null;
  logs?: unknown[] | null;
  violation_count?: number;
  was_terminated?: boolean;
  node_id?: string | null;
  duration_ms?: number | null;
}

/**
 * Audit events written by the same statement as the row they describe are built before
 * the row is read: validated here with placeholder owner ids, which the statement then
 * replaces with the updated row's account and agent (OWNED_EVENT).
 */
function eventTemplate(audit: Omit<AuditEventInput, 'accountId' | 'agentId' | 'executionId'>, executionId: number) {
  return auditEvent({ ...audit, accountId: 1, agentId: 1, executionId });
}

const OWNED_EVENT = (template: string) =>
  `jsonb_set(jsonb_set(${template}, '{account_id}', to_jsonb(updated.account_id)), '{agent_id}', to_jsonb(updated.agent_id))`;

/** TypeORM answers UPDATE ... RETURNING with [rows, count]. */
function updatedRows<T>(raw: unknown): T[] {
  return (Array.isArray(raw) && Array.isArray(raw[0]) ? raw[0] : raw) as T[];
}

export class ExecutionStore {
  constructor(private readonly db: DataSource) {}

  /**
   * The execution and its audit event in one statement (so one round trip, and atomic):
   * the event is built here and its execution_id filled in from the new row.
   */
  /** `inputJson`: the input already serialised (the caller measured it). */
  async createQueued(accountId: number, agentId: number, inputJson: string, audit: Omit<AuditEventInput, 'accountId' | 'agentId' | 'executionId'>): Promise<ExecutionRow> {
    const event = auditEvent({ ...audit, accountId, agentId, executionId: null });
    const [row] = (await this.db.query(
      `WITH created AS (
         INSERT INTO executions (account_id, agent_id, status, input) VALUES ($1, $2, 'queued', $3::jsonb) RETURNING *
       ), audited AS (
         INSERT INTO audit_outbox (event) SELECT jsonb_set($4::jsonb, '{execution_id}', to_jsonb(created.id)) FROM created
       )
       SELECT ${COLUMNS} FROM created`,
      [accountId, agentId, inputJson, JSON.stringify(event)],
    )) as ExecutionRow[];
    return row!;
  }

  async get(accountId: number, agentId: number, id: number): Promise<ExecutionRow | null> {
    const rows = (await this.db.query(`SELECT ${COLUMNS} FROM executions WHERE id = $1 AND account_id = $2 AND agent_id = $3`, [id, accountId, agentId])) as ExecutionRow[];
    return rows[0] ?? null;
  }

  async getById(id: number): Promise<ExecutionRow | null> {
    const rows = (await this.db.query(`SELECT ${COLUMNS} FROM executions WHERE id = $1`, [id])) as ExecutionRow[];
    return rows[0] ?? null;
  }

  async list(accountId: number, agentId: number, page: number, limit: number, status?: string): Promise<{ rows: ExecutionRow[]; total: number }> {
    const params: unknown[] = [accountId, agentId];
    let where = 'account_id = $1 AND agent_id = $2';
    if (status) {
      params.push(status);
      where += ` AND status = $${params.length}`;
    }
    const [counted] = (await this.db.query(`SELECT count(*)::int AS n FROM executions WHERE ${where}`, params)) as { n: number }[];
    params.push(limit, (page - 1) * limit);
    const rows = (await this.db.query(
      `SELECT ${COLUMNS} FROM executions WHERE ${where} ORDER BY id DESC LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    )) as ExecutionRow[];
    return { rows, total: counted!.n };
  }

  async markDispatched(id: number, pool: string): Promise<boolean> {
    const rows = updatedRows(await this.db.query(`UPDATE executions SET status = 'dispatched', pool = $2 WHERE id = $1 AND status = 'queued' RETURNING id`, [id, pool]));
    return rows.length > 0;
  }

  /** A node started the run (again, after a stall retry): counts the attempt. One statement. */
  async markRunning(id: number, nodeId: string, at: Date, audit: Omit<AuditEventInput, 'accountId' | 'agentId' | 'executionId'>): Promise<ExecutionRow | null> {
    const [row] = (await this.db.query(
      `WITH updated AS (
         UPDATE executions SET status = 'running', node_id = $2, started_at = COALESCE(started_at, $3), attempts = attempts + 1
          WHERE id = $1 AND finished_at IS NULL RETURNING *
       ), audited AS (
         INSERT INTO audit_outbox (event) SELECT ${OWNED_EVENT('$4::jsonb')} FROM updated
       )
       SELECT ${COLUMNS} FROM updated`,
      [id, nodeId, at, JSON.stringify(eventTemplate(audit, id))],
    )) as ExecutionRow[];
    return row ?? null;
  }

  /**
   * Writes the final state and its audit events in one statement, unless a final state was
   * already written; returns the row only when this call wrote it.
   */
  async finalize(id: number, fields: FinalFields, audits: readonly Omit<AuditEventInput, 'accountId' | 'agentId' | 'executionId'>[]): Promise<ExecutionRow | null> {
    const [row] = (await this.db.query(
      `WITH updated AS (
         UPDATE executions SET status = $2, output = $3::jsonb, error = $4::jsonb, resource_usage = $5::jsonb,
             host_call_audit = $6::jsonb, logs = $7::jsonb, violation_count = $8, was_terminated = $9,
             node_id = COALESCE($10, node_id), duration_ms = $11, finished_at = now()
           WHERE id = $1 AND finished_at IS NULL RETURNING *
       ), audited AS (
         INSERT INTO audit_outbox (event) SELECT ${OWNED_EVENT('template')} FROM updated, unnest($12::jsonb[]) AS template
       )
       SELECT ${COLUMNS} FROM updated`,
      [
        id,
        fields.status,
        fields.output === undefined ? null : JSON.stringify(fields.output),
        fields.error ? JSON.stringify(fields.error) : null,
        fields.resource_usage ? JSON.stringify(fields.resource_usage) : null,
        fields.host_call_audit ? JSON.stringify(fields.host_call_audit) : null,
        fields.logs ? JSON.stringify(fields.logs) : null,
        fields.violation_count ?? 0,
        fields.was_terminated ?? false,
        fields.node_id ?? null,
        fields.duration_ms ?? null,
        audits.map((a) => JSON.stringify(eventTemplate(a, id))),
      ],
    )) as ExecutionRow[];
    return row ?? null;
  }

  /** Unfinished executions older than `olderThanMs` in the given states, for the sweeper. */
  async unfinished(statuses: readonly string[], olderThanMs: number, limit = 500): Promise<ExecutionRow[]> {
    return (await this.db.query(
      `SELECT ${COLUMNS} FROM executions WHERE finished_at IS NULL AND status = ANY($1::text[]) AND queued_at < now() - make_interval(secs => $2)
        ORDER BY id LIMIT $3`,
      [statuses, olderThanMs / 1000, limit],
    )) as ExecutionRow[];
  }
}

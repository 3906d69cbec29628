// Execution rows. Every final state is written by one conditional UPDATE (finished_at IS
// NULL), so whichever of result, refusal, node loss or sweep comes first wins and the
// others change nothing: each execution's final state is written exactly once.
import type { DataSource } from 'typeorm';
import { auditEvent, type AuditEventInput } from '../../audit/audit-event.ts';
import type { FinalStatus } from '../../execution/statuses.ts';
import { preparedStatement, queryPrepared } from '../prepared-statement.ts';

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
  /** A synchronous caller waits for its end (it gets a done notice). */
  awaited: boolean;
}

const COLUMNS = `id::float8 AS id, account_id::float8 AS account_id, agent_id::float8 AS agent_id, status, input, output, error,
  resource_usage, host_call_audit, logs, violation_count, was_terminated, node_id, pool, attempts, queued_at, started_at,
  finished_at, duration_ms, awaited`;

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
  /** The pool the node took it from; kept if the dispatch mark recorded one already. */
  pool?: string | null;
  duration_ms?: number | null;
}

/** An audit event described by the statement that writes the row it is about. */
export type RowAudit = Omit<AuditEventInput, 'accountId' | 'agentId' | 'executionId'>;

/**
 * Audit events written by the same statement as the row they describe are built before
 * the row is read: validated here with placeholder owner ids, which the statement then
 * replaces with the updated row's account and agent (OWNED_EVENT).
 */
function eventTemplate(audit: RowAudit, executionId: number) {
  return auditEvent({ ...audit, accountId: 1, agentId: 1, executionId });
}

const OWNED_EVENT = (template: string) =>
  `jsonb_set(jsonb_set(${template}, '{account_id}', to_jsonb(updated.account_id)), '{agent_id}', to_jsonb(updated.agent_id))`;

export interface QueuedExecution {
  readonly accountId: number;
  readonly agentId: number;
  /** The input already serialised (the caller measured it). */
  readonly inputJson: string;
  /** A synchronous caller waits for its end. */
  readonly awaited: boolean;
  readonly audit: RowAudit;
}

export interface RunningReport {
  readonly id: number;
  readonly nodeId: string;
  /** The pool the node took it from, when the node says (see FinalFields.pool). */
  readonly pool?: string | null;
  readonly at: Date;
  /** The exec job's attempt (BullMQ attemptsStarted): a repeated report of it changes nothing. */
  readonly attempt: number;
  readonly audit: RowAudit;
}

export interface FinalState {
  readonly id: number;
  readonly fields: FinalFields;
  readonly audits: readonly RowAudit[];
  /**
   * How the run started, when a node ran it: recorded with the final state unless the
   * node's `started` report for this attempt was already written (short runs end before
   * their start is reported on its own), and then `startAudit` goes first into the trail.
   */
  readonly start?: { readonly at: Date; readonly attempt: number; readonly audit: RowAudit };
}

/**
 * Batches travel as one JSON document unpacked by jsonb_to_recordset: one parameter
 * however many rows, and inputs already serialised are spliced in without a re-parse here.
 */
function recordset(rows: readonly Record<string, string | number | boolean | null>[], raw: readonly Record<string, string | null>[] = []): string {
  return `[${rows
    .map((row, i) => {
      const plain = JSON.stringify(row);
      const extra = Object.entries(raw[i] ?? {})
        .map(([key, json]) => `,${JSON.stringify(key)}:${json ?? 'null'}`)
        .join('');
      return `${plain.slice(0, -1)}${extra}}`;
    })
    .join(',')}]`;
}

// The statements of every execution's path, prepared once per connection (prepared-statement.ts).
// Rows are found by primary key through `id = ANY(ARRAY(SELECT id FROM v))`: planned from
// the join alone (jsonb_to_recordset is estimated at 100 rows), PostgreSQL chose to scan
// the table, or all unfinished executions, which under a backlog is every one of them.
const CREATE_QUEUED = preparedStatement(
  'executions-create-queued',
  `WITH input AS (
     SELECT nextval(pg_get_serial_sequence('executions', 'id')) AS id, v.ord, v.account_id, v.agent_id, v.awaited, v.input, v.event
       FROM jsonb_to_recordset($1::jsonb) AS v(ord int, account_id bigint, agent_id bigint, awaited boolean, input jsonb, event jsonb)
      ORDER BY v.ord
   ), created AS (
     INSERT INTO executions (id, account_id, agent_id, status, awaited, input)
     SELECT id, account_id, agent_id, 'queued', awaited, COALESCE(input, 'null'::jsonb) FROM input ORDER BY ord RETURNING *
   ), audited AS (
     INSERT INTO audit_outbox (event) SELECT jsonb_set(event, '{execution_id}', to_jsonb(id)) FROM input ORDER BY ord
   )
   SELECT ${COLUMNS} FROM created ORDER BY id`,
);

const MARK_DISPATCHED = preparedStatement(
  'executions-mark-dispatched',
  `UPDATE executions e SET status = CASE WHEN e.status = 'queued' THEN 'dispatched' ELSE e.status END, pool = v.pool
       FROM unnest($1::bigint[], $2::text[]) AS v(id, pool), executions before
      WHERE e.id = v.id AND before.id = v.id AND e.pool IS NULL
    RETURNING e.id::float8 AS id, before.status = 'queued' AS moved`,
);

const MARK_RUNNING = preparedStatement(
  'executions-mark-running',
  `WITH v AS (
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(ord int, id bigint, node_id text, pool text, at timestamptz, attempt int, event jsonb)
   ), updated AS (
     UPDATE executions e SET status = 'running', node_id = v.node_id, pool = COALESCE(e.pool, v.pool),
         started_at = COALESCE(e.started_at, v.at), attempts = v.attempt
       FROM v
      WHERE e.id = ANY(ARRAY(SELECT id FROM v)) AND e.id = v.id AND e.finished_at IS NULL AND e.attempts < v.attempt
     RETURNING e.id, e.account_id, e.agent_id, v.event, v.ord
   ), audited AS (
     INSERT INTO audit_outbox (event) SELECT ${OWNED_EVENT('updated.event')} FROM updated ORDER BY updated.ord
   )
   SELECT id::float8 AS id FROM updated`,
);

// `before` is the row as it was: whether this attempt's start is already on record.
const FINALIZE = preparedStatement(
  'executions-finalize',
  `WITH v AS (
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(ord int, id bigint, status text, output jsonb, error jsonb, resource_usage jsonb,
       host_call_audit jsonb, logs jsonb, violation_count int, was_terminated boolean, node_id text, pool text, duration_ms float8,
       started_at timestamptz, attempt int, start_event jsonb, events jsonb)
   ), updated AS (
     UPDATE executions e SET status = v.status, output = v.output, error = v.error, resource_usage = v.resource_usage,
         host_call_audit = v.host_call_audit, logs = v.logs, violation_count = v.violation_count, was_terminated = v.was_terminated,
         node_id = COALESCE(v.node_id, e.node_id), pool = COALESCE(e.pool, v.pool), duration_ms = v.duration_ms, finished_at = now(),
         started_at = COALESCE(e.started_at, v.started_at), attempts = GREATEST(e.attempts, COALESCE(v.attempt, 0))
       FROM v, executions before
      WHERE e.id = ANY(ARRAY(SELECT id FROM v)) AND e.id = v.id AND before.id = v.id AND e.finished_at IS NULL
     RETURNING e.*, v.ord, v.events,
       CASE WHEN v.attempt IS NOT NULL AND before.attempts < v.attempt THEN v.start_event END AS start_event
   ), audited AS (
     INSERT INTO audit_outbox (event)
     SELECT ${OWNED_EVENT('ev.event')}
       FROM updated,
            LATERAL (SELECT updated.start_event AS event, 0 AS n WHERE updated.start_event IS NOT NULL
                     UNION ALL SELECT value, ordinality FROM jsonb_array_elements(updated.events) WITH ORDINALITY) AS ev
      ORDER BY updated.ord, ev.n
   )
   SELECT ${COLUMNS} FROM updated ORDER BY ord`,
);

export class ExecutionStore {
  constructor(private readonly db: DataSource) {}

  /**
   * Queued executions and their audit events in one statement (one round trip, atomic),
   * in the order given; ids ascend in that order.
   */
  async createQueuedMany(items: readonly QueuedExecution[]): Promise<ExecutionRow[]> {
    if (items.length === 0) return [];
    const doc = recordset(
      items.map((item, ord) => ({ ord, account_id: item.accountId, agent_id: item.agentId, awaited: item.awaited })),
      items.map((item) => ({
        input: item.inputJson,
        event: JSON.stringify(auditEvent({ ...item.audit, accountId: item.accountId, agentId: item.agentId, executionId: null })),
      })),
    );
    return queryPrepared<ExecutionRow>(this.db, CREATE_QUEUED, [doc]);
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

  /**
   * Records the pool each execution was sent to, and moves those still queued to
   * dispatched (one a node already reported on keeps its later status). Answers the ids
   * this call moved.
   */
  async markDispatchedMany(items: readonly { readonly id: number; readonly pool: string }[]): Promise<Set<number>> {
    if (items.length === 0) return new Set();
    const rows = await queryPrepared<{ id: number; moved: boolean }>(this.db, MARK_DISPATCHED, [items.map((i) => i.id), items.map((i) => i.pool)]);
    return new Set(rows.filter((r) => r.moved).map((r) => r.id));
  }

  /**
   * Nodes started runs: each unfinished execution is marked running with its audit event,
   * unless this attempt was already recorded (a repeated report). Answers the ids written.
   */
  async markRunningMany(reports: readonly RunningReport[]): Promise<Set<number>> {
    if (reports.length === 0) return new Set();
    const doc = recordset(
      reports.map((r, ord) => ({ ord, id: r.id, node_id: r.nodeId, pool: r.pool ?? null, at: r.at.toISOString(), attempt: r.attempt })),
      reports.map((r) => ({ event: JSON.stringify(eventTemplate(r.audit, r.id)) })),
    );
    const rows = await queryPrepared<{ id: number }>(this.db, MARK_RUNNING, [doc]);
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Writes final states and their audit events in one statement. An execution that already
   * has a final state is left alone (and its events are not written): answers only the rows
   * this call ended, in the order given.
   */
  async finalizeMany(states: readonly FinalState[]): Promise<ExecutionRow[]> {
    if (states.length === 0) return [];
    const doc = recordset(
      states.map(({ id, fields, start }, ord) => ({
        ord,
        id,
        status: fields.status,
        violation_count: fields.violation_count ?? 0,
        was_terminated: fields.was_terminated ?? false,
        node_id: fields.node_id ?? null,
        pool: fields.pool ?? null,
        duration_ms: fields.duration_ms ?? null,
        started_at: start?.at.toISOString() ?? null,
        attempt: start?.attempt ?? null,
      })),
      states.map(({ id, fields, audits, start }) => ({
        output: fields.output === undefined ? null : JSON.stringify(fields.output),
        error: fields.error ? JSON.stringify(fields.error) : null,
        resource_usage: fields.resource_usage ? JSON.stringify(fields.resource_usage) : null,
        host_call_audit: fields.host_call_audit ? JSON.stringify(fields.host_call_audit) : null,
        logs: fields.logs ? JSON.stringify(fields.logs) : null,
        start_event: start ? JSON.stringify(eventTemplate(start.audit, id)) : null,
        events: JSON.stringify(audits.map((a) => eventTemplate(a, id))),
      })),
    );
    return queryPrepared<ExecutionRow>(this.db, FINALIZE, [doc]);
  }

  /**
   * Unfinished executions in the given states queued more than `olderThanMs` ago (and, if
   * given, before `queuedBefore`), oldest first, for the sweeper.
   */
  async unfinished(statuses: readonly string[], olderThanMs: number, limit = 500, queuedBefore?: Date): Promise<ExecutionRow[]> {
    return (await this.db.query(
      // The literal status list is executions_pending_idx's predicate, so the index applies.
      `SELECT ${COLUMNS} FROM executions
        WHERE status IN ('queued', 'dispatched', 'running') AND finished_at IS NULL AND status = ANY($1::text[])
          AND queued_at < now() - make_interval(secs => $2)
          AND ($4::timestamptz IS NULL OR queued_at < $4)
        ORDER BY id LIMIT $3`,
      [statuses, olderThanMs / 1000, limit, queuedBefore ?? null],
    )) as ExecutionRow[];
  }
}

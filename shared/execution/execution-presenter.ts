// The public JSON shape of an execution (the product page's sandbox result, plus where
// and when it ran).
import type { ExecutionRow } from '../db/stores/execution-store.ts';

export function presentExecution(row: ExecutionRow): Record<string, unknown> {
  return {
    execution_id: row.id,
    agent_id: row.agent_id,
    status: row.status,
    output: row.output ?? null,
    error: row.error ?? null,
    resource_usage: row.resource_usage ?? { cpu_ms: 0, memory_mb: 0, api_calls: 0, host_calls: 0 },
    host_call_audit: row.host_call_audit ?? [],
    logs: row.logs ?? [],
    violation_count: row.violation_count,
    was_terminated: row.was_terminated,
    node_id: row.node_id,
    pool: row.pool,
    attempts: row.attempts,
    queued_at: row.queued_at.toISOString(),
    started_at: row.started_at?.toISOString() ?? null,
    finished_at: row.finished_at?.toISOString() ?? null,
    duration_ms: row.duration_ms,
    audit_trail_url: `/api/v1/sdk/audit?executionId=${row.id}`,
  };
}

/** The list view leaves out the bulky parts. */
export function presentExecutionSummary(row: ExecutionRow): Record<string, unknown> {
  const { host_call_audit: _audit, logs: _logs, output: _output, ...rest } = presentExecution(row);
  return rest;
}

// The public JSON shape of an agent.
import type { AgentRow } from '../../shared/db/entities/agent.ts';
import { SANDBOX_TEMPLATES } from '../../shared/sandbox-templates.ts';

// Cached rows are shared, immutable objects: memoising their presentation keeps the hot
// GET path from rebuilding the same JSON shape on every request.
const presented = { withCode: new WeakMap<AgentRow, Record<string, unknown>>(), withoutCode: new WeakMap<AgentRow, Record<string, unknown>>() };

export function presentAgent(row: AgentRow, options: { withCode: boolean }): Record<string, unknown> {
  const memo = options.withCode ? presented.withCode : presented.withoutCode;
  let agent = memo.get(row);
  if (!agent) {
    agent = buildAgent(row, options);
    memo.set(row, agent);
  }
  return agent;
}

function buildAgent(row: AgentRow, options: { withCode: boolean }): Record<string, unknown> {
  const agent: Record<string, unknown> = {
    id: row.id,
    name: row.name,
    version: row.version,
    description: row.description,
    status: row.status,
    swarm: row.swarm,
    permissions: row.permissions,
    // Fixed key order: jsonb returns keys sorted by length, which reads badly.
    config: {
      memory_limit_mb: row.config.memory_limit_mb,
      cpu_time_limit_ms: row.config.cpu_time_limit_ms,
      max_api_calls_per_run: row.config.max_api_calls_per_run,
      allow_network: row.config.allow_network,
      allow_filesystem: row.config.allow_filesystem,
      sandbox_template: row.config.sandbox_template,
      allowed_domains: row.config.allowed_domains,
    },
    content_safety: SANDBOX_TEMPLATES[row.config.sandbox_template].content_safety,
    halt_reason: row.halt_reason,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
  if (row.permissions_preset) agent.permissions_preset = row.permissions_preset;
  if (options.withCode) agent.entry_code = row.entry_code;
  return agent;
}

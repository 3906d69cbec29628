// Request and response shapes of executions, the kill switch and limits.
import { z } from 'zod';
import { EXECUTION_STATUSES } from '../../shared/execution/statuses.ts';
import { idString, intFromQuery } from './common.ts';

export const executeBody = z.object({ input: z.json().optional() }).strict();
export const executeQuery = z.object({ async: z.enum(['true', 'false', '1', '0']).optional() }).strict();
export const executionParams = z.object({ id: idString, eid: idString }).strict();
export const listExecutionsQuery = z
  .object({
    page: intFromQuery(1, 1_000_000).optional(),
    limit: intFromQuery(1, 100).optional(),
    status: z.enum(EXECUTION_STATUSES).optional(),
  })
  .strict();

export const killBody = z.object({ reason: z.string().max(1000).optional() }).strict();
export const globalKillBody = z.object({ halted: z.boolean(), reason: z.string().max(1000).optional() }).strict();

export const executionOutput = z
  .object({
    execution_id: z.number().int(),
    agent_id: z.number().int(),
    status: z.enum(EXECUTION_STATUSES),
    output: z.unknown(),
    error: z.object({ code: z.string(), message: z.string(), stack: z.string().nullable().optional() }).nullable(),
    resource_usage: z.object({ cpu_ms: z.number(), memory_mb: z.number(), api_calls: z.number(), host_calls: z.number() }).partial(),
    host_call_audit: z.array(z.unknown()),
    logs: z.array(z.unknown()),
    violation_count: z.number().int(),
    was_terminated: z.boolean(),
    node_id: z.string().nullable(),
    pool: z.string().nullable(),
    attempts: z.number().int(),
    queued_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    duration_ms: z.number().nullable(),
    audit_trail_url: z.string(),
  })
  .meta({ id: 'Execution' });

export const acceptedOutput = z.object({
  execution_id: z.number().int(),
  agent_id: z.number().int(),
  status: z.enum(EXECUTION_STATUSES),
  poll_url: z.string(),
  audit_trail_url: z.string(),
});

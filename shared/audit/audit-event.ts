// An audit event as producers emit it, before the recorder gives it a place in its
// account's chain. Producers anywhere (api, CLI, scheduler, executor nodes) build events
// with `auditEvent()`; the recorder re-validates them, because a stream entry is input.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { sanitizeText, SUMMARY_MAX_CHARS } from './summarize.ts';

export const ACTION_CATEGORIES = {
  account_created: 'account',
  key_created: 'access',
  key_revoked: 'access',
  agent_created: 'agent_lifecycle',
  agent_updated: 'agent_lifecycle',
  agent_deleted: 'agent_lifecycle',
  execution_queued: 'execution',
  execution_started: 'execution',
  execution_completed: 'execution',
  execution_failed: 'execution',
  api_call: 'host_call',
  permission_denied: 'policy',
  rate_limit_hit: 'policy',
  sandbox_limit_hit: 'policy',
  kill: 'control',
  halt: 'control',
  resume: 'control',
} as const;

export type AuditActionType = keyof typeof ACTION_CATEGORIES;
export const AUDIT_ACTION_TYPES = Object.keys(ACTION_CATEGORIES) as AuditActionType[];

export const DESCRIPTION_MAX_CHARS = 1000;
const ACTOR_PATTERN = /^(system|tzk_[0-9A-Za-z]{8}|node:[A-Za-z0-9._-]{1,64}|cli(:[A-Za-z0-9._@-]{1,64})?)$/;

const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const text = (max: number) => z.string().transform((s) => sanitizeText(s, max));

/** The wire and storage form of an event; `parse` also repairs text the database would refuse. */
export const auditEventSchema = z
  .object({
    event_id: z.uuid(),
    occurred_at: z.iso.datetime({ offset: false }),
    account_id: id,
    agent_id: id.nullable(),
    execution_id: id.nullable(),
    actor: z.string().regex(ACTOR_PATTERN),
    action_type: z.enum(AUDIT_ACTION_TYPES as [AuditActionType, ...AuditActionType[]]),
    description: text(DESCRIPTION_MAX_CHARS),
    input_summary: text(SUMMARY_MAX_CHARS).nullable(),
    output_summary: text(SUMMARY_MAX_CHARS).nullable(),
    permission_state: z.record(z.string(), z.json()),
    is_violation: z.boolean(),
  })
  .strict();

export type AuditEvent = z.output<typeof auditEventSchema>;

export interface AuditEventInput {
  readonly accountId: number;
  readonly agentId?: number | null;
  readonly executionId?: number | null;
  readonly actor: string;
  readonly actionType: AuditActionType;
  readonly description: string;
  readonly inputSummary?: string | null;
  readonly outputSummary?: string | null;
  readonly permissionState?: Record<string, unknown>;
  readonly isViolation?: boolean;
}

/** Builds a validated event with a fresh unique id: a redelivery keeps this id. */
export function auditEvent(input: AuditEventInput, now: Date = new Date()): AuditEvent {
  return auditEventSchema.parse({
    event_id: randomUUID(),
    occurred_at: now.toISOString(),
    account_id: input.accountId,
    agent_id: input.agentId ?? null,
    execution_id: input.executionId ?? null,
    actor: input.actor,
    action_type: input.actionType,
    description: input.description,
    input_summary: input.inputSummary ?? null,
    output_summary: input.outputSummary ?? null,
    permission_state: input.permissionState ?? {},
    is_violation: input.isViolation ?? false,
  });
}

export function actionCategory(type: AuditActionType): string {
  return ACTION_CATEGORIES[type];
}

// A stored audit record and its public JSON shape (query, export, stream all use it).
import { z } from 'zod';
import type { AuditRecordFields } from './record-hash.ts';

/**
 * A record as the API shows it: ids and sequence as numbers, recorded_at an ISO string,
 * no account_id. The record's fields are listed here once: the stored row below is this
 * with account_id and the types pg returns, and the API's output schema
 * (api/schemas/audit-schemas.ts) is this plus its OpenAPI annotations.
 *
 * The proof file's record (anchor-proof.ts) lists these fields again on purpose: it is
 * version 1 of a file format that others verify with their own code, fixed by the hash's
 * field list, and must keep accepting the files already handed out however this shape moves.
 */
export const auditRecordView = z.object({
  id: z.number().int(),
  sequence: z.number().int(),
  recorded_at: z.string(),
  event_id: z.string(),
  agent_id: z.number().int().nullable(),
  execution_id: z.number().int().nullable(),
  actor: z.string(),
  action_type: z.string(),
  action_category: z.string(),
  description: z.string(),
  input_summary: z.string().nullable(),
  output_summary: z.string().nullable(),
  permission_state: z.record(z.string(), z.unknown()),
  is_violation: z.boolean(),
  prev_hash: z.string(),
  hash: z.string(),
});

export type AuditRecordView = z.infer<typeof auditRecordView>;

/** A row of audit_records as pg returns it: bigint columns as decimal strings, timestamptz as a Date. */
export interface AuditRecordRow extends Omit<AuditRecordView, 'id' | 'sequence' | 'recorded_at' | 'agent_id' | 'execution_id'> {
  id: string;
  account_id: string;
  sequence: string;
  recorded_at: Date;
  agent_id: string | null;
  execution_id: string | null;
}

export const AUDIT_RECORD_COLUMNS =
  'id, account_id, sequence, recorded_at, event_id, agent_id, execution_id, actor, action_type, action_category, description, input_summary, output_summary, permission_state, is_violation, prev_hash, hash';

const toNumber = (v: string | null) => (v === null ? null : Number(v));

/** Names each field it shows rather than spreading the row, so no other column can reach a client. */
export function presentAuditRecord(row: AuditRecordRow): AuditRecordView {
  return {
    id: Number(row.id),
    sequence: Number(row.sequence),
    recorded_at: row.recorded_at.toISOString(),
    event_id: row.event_id,
    agent_id: toNumber(row.agent_id),
    execution_id: toNumber(row.execution_id),
    actor: row.actor,
    action_type: row.action_type,
    action_category: row.action_category,
    description: row.description,
    input_summary: row.input_summary,
    output_summary: row.output_summary,
    permission_state: row.permission_state,
    is_violation: row.is_violation,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * The hashed fields of a stored row, in the types the hash is defined over. The other
 * columns ride along: the hash ignores properties it does not cover.
 */
export function hashedFieldsOf(row: AuditRecordRow): AuditRecordFields & { prev_hash: string; hash: string; id: string } {
  return {
    ...row,
    account_id: String(row.account_id),
    sequence: Number(row.sequence),
    agent_id: row.agent_id === null ? null : String(row.agent_id),
    execution_id: row.execution_id === null ? null : String(row.execution_id),
  };
}

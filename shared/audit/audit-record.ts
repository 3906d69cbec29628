// A stored audit record and its public JSON shape (query, export, stream all use it).
import type { AuditRecordFields } from './record-hash.ts';

export interface AuditRecordRow {
  id: string;
  account_id: string;
  sequence: string;
  recorded_at: Date;
  event_id: string;
  agent_id: string | null;
  execution_id: string | null;
  actor: string;
  action_type: string;
  action_category: string;
  description: string;
  input_summary: string | null;
  output_summary: string | null;
  permission_state: Record<string, unknown>;
  is_violation: boolean;
  prev_hash: string;
  hash: string;
}

export interface AuditRecordView {
  id: number;
  sequence: number;
  recorded_at: string;
  event_id: string;
  agent_id: number | null;
  execution_id: number | null;
  actor: string;
  action_type: string;
  action_category: string;
  description: string;
  input_summary: string | null;
  output_summary: string | null;
  permission_state: Record<string, unknown>;
  is_violation: boolean;
  prev_hash: string;
  hash: string;
}

export const AUDIT_RECORD_COLUMNS =
  'id, account_id, sequence, recorded_at, event_id, agent_id, execution_id, actor, action_type, action_category, description, input_summary, output_summary, permission_state, is_violation, prev_hash, hash';

const toNumber = (v: string | null) => (v === null ? null : Number(v));

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

/** The hashed fields of a stored row, in the types the hash is defined over. */
export function hashedFieldsOf(row: AuditRecordRow): AuditRecordFields & { prev_hash: string; hash: string; id: string } {
  return {
    id: row.id,
    account_id: String(row.account_id),
    sequence: Number(row.sequence),
    recorded_at: row.recorded_at,
    event_id: row.event_id,
    agent_id: row.agent_id === null ? null : String(row.agent_id),
    execution_id: row.execution_id === null ? null : String(row.execution_id),
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

// Query and response shapes of the audit endpoints.
import { z } from 'zod';
import { AUDIT_ACTION_TYPES } from '../../shared/audit/audit-event.ts';
import { auditRecordView } from '../../shared/audit/audit-record.ts';
import { idString, intFromQuery, timestamp } from './common.ts';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** A date (`2026-01-31`, the whole UTC day) or an ISO date-time. */
const dateBound = (end: 'from' | 'to') =>
  z
    .string()
    .refine((v) => (DATE_ONLY.test(v) || z.iso.datetime({ offset: true }).safeParse(v).success) && !Number.isNaN(Date.parse(v)), {
      message: 'must be a date (YYYY-MM-DD) or an ISO 8601 date-time',
    })
    .transform((v) => {
      const at = new Date(DATE_ONLY.test(v) ? `${v}T00:00:00.000Z` : v);
      // `to` is inclusive: a whole day for a date, the instant (to the millisecond) otherwise.
      if (end === 'to') at.setTime(at.getTime() + (DATE_ONLY.test(v) ? 86_400_000 : 1));
      return at;
    });

const actionTypes = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(z.enum(AUDIT_ACTION_TYPES as [string, ...string[]], { error: (i) => `unknown action type ${JSON.stringify(i.input)}; known: ${AUDIT_ACTION_TYPES.join(', ')}` })).min(1).max(AUDIT_ACTION_TYPES.length));

const booleanFlag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Opaque to clients: base64url of the last returned sequence. */
export const auditCursor = z
  .string()
  .max(64)
  .transform((v, ctx) => {
    const match = /^s(\d{1,15})$/.exec(Buffer.from(v, 'base64url').toString('utf8'));
    if (!match) {
      ctx.addIssue({ code: 'custom', message: 'is not a cursor this API returned' });
      return z.NEVER;
    }
    return Number(match[1]);
  });

export function encodeAuditCursor(sequence: number): string {
  return Buffer.from(`s${sequence}`, 'utf8').toString('base64url');
}

const range = {
  from: dateBound('from').optional(),
  to: dateBound('to').optional(),
};

export const auditQuery = z
  .object({
    ...range,
    actionTypes: actionTypes.optional(),
    violationsOnly: booleanFlag.optional(),
    agentId: idString.optional(),
    executionId: idString.optional(),
    limit: intFromQuery(1, 1000).optional(),
    cursor: auditCursor.optional(),
  })
  .strict()
  .refine((q) => !q.from || !q.to || q.from < q.to, { message: 'from must be before to', path: ['from'] });

export const auditExportQuery = z
  .object({ format: z.enum(['json', 'csv', 'summary']).default('json'), ...range })
  .strict()
  .refine((q) => !q.from || !q.to || q.from < q.to, { message: 'from must be before to', path: ['from'] });

export const auditStreamQuery = z
  .object({
    executionId: idString.optional(),
    agentId: idString.optional(),
    since: z.iso.datetime({ offset: true }).transform((v) => new Date(v)).optional(),
  })
  .strict();

export const recordIdParams = z.object({ recordId: idString }).strict();

/** The record's fields are listed once, in shared/audit/audit-record.ts; the API adds its annotations. */
export const auditRecordOutput = auditRecordView.extend({ recorded_at: timestamp }).meta({ id: 'AuditRecord' });

export const auditQueryOutput = z.object({
  events: z.array(auditRecordOutput),
  total: z.number().int(),
  anchored: z.boolean(),
  next_cursor: z.string().nullable(),
});

export const chainStatusOutput = z.object({
  valid: z.boolean(),
  checked: z.number().int(),
  broken_at: z.object({ record_id: z.number().int().nullable(), sequence: z.number().int(), reason: z.string() }).optional(),
});

export const auditSummaryOutput = z.object({
  from: timestamp.nullable(),
  to: timestamp.nullable(),
  total: z.number().int(),
  by_action_type: z.record(z.string(), z.number().int()),
  violations: z.number().int(),
  chain: chainStatusOutput,
});

export const verifyOutput = z.object({
  record_id: z.number().int(),
  sequence: z.number().int(),
  hash: z.string(),
  prev_hash: z.string(),
  chain_valid: z.boolean(),
  checked: z.number().int(),
  broken_at: chainStatusOutput.shape.broken_at,
  verified_at: timestamp,
  anchored: z.boolean().meta({ description: 'Whether the record is in a batch confirmed on chain; the fields below are null while it is not' }),
  anchor_batch_id: z.number().int().nullable(),
  merkle_root: z.string().nullable(),
  leaf_index: z.number().int().nullable(),
  tree_size: z.number().int().nullable(),
  inclusion_proof: z.array(z.string()).nullable().meta({ description: 'RFC 9162 audit path, leaf to root, lowercase hex' }),
  inclusion_valid: z.boolean().nullable().meta({ description: 'The stored record hash is the anchored leaf and its path leads to merkle_root' }),
  anchor_tx_hash: z.string().nullable(),
  block_number: z.number().int().nullable(),
  chain_id: z.number().int().nullable(),
  confirmations: z.number().int().nullable(),
  confirmations_source: z
    .enum(['chain', 'recorded'])
    .nullable()
    .meta({ description: "'chain': counted now from the chain head; 'recorded': the chain did not answer, so the minimum the anchorer waited for" }),
});

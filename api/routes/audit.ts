// The audit trail API: query, export, per-record verification.
import { Readable } from 'node:stream';
import { errors } from '../../shared/errors.ts';
import { presentAuditRecord, type AuditRecordView } from '../../shared/audit/audit-record.ts';
import { csvRow } from '../../shared/audit/csv.ts';
import type { AuditFilter, AuditStore } from '../../shared/db/stores/audit-store.ts';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { authErrorResponses, errorBody } from '../schemas/common.ts';
import {
  auditExportQuery,
  auditQuery,
  auditQueryOutput,
  auditSummaryOutput,
  encodeAuditCursor,
  recordIdParams,
  verifyOutput,
} from '../schemas/audit-schemas.ts';

export interface AuditRouteDeps {
  readonly audit: AuditStore;
  readonly now?: () => Date;
}

const TAG = 'Audit';
const common = authErrorResponses('audit:read');

const CSV_COLUMNS: (keyof AuditRecordView)[] = [
  'id', 'sequence', 'recorded_at', 'event_id', 'agent_id', 'execution_id', 'actor', 'action_type', 'action_category',
  'description', 'input_summary', 'output_summary', 'permission_state', 'is_violation', 'prev_hash', 'hash',
];

export function auditRoutes(deps: AuditRouteDeps): RouteSpec[] {
  const now = deps.now ?? (() => new Date());

  async function* csvLines(filter: AuditFilter): AsyncGenerator<string> {
    yield csvRow(CSV_COLUMNS);
    for await (const row of deps.audit.iterate(filter)) {
      const view = presentAuditRecord(row);
      yield csvRow(CSV_COLUMNS.map((c) => view[c]));
    }
  }

  async function* jsonChunks(filter: AuditFilter, meta: Record<string, unknown>): AsyncGenerator<string> {
    yield `${JSON.stringify(meta).slice(0, -1)},"events":[`;
    let first = true;
    for await (const row of deps.audit.iterate(filter)) {
      yield `${first ? '' : ','}${JSON.stringify(presentAuditRecord(row))}`;
      first = false;
    }
    yield ']}';
  }

  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/sdk/audit',
      summary: 'Query the audit trail, oldest first, with keyset paging',
      tag: TAG,
      auth: 'audit:read',
      query: auditQuery,
      responses: { 200: { description: 'A page of audit records', schema: auditQueryOutput }, ...common },
      async handle({ query, principal }) {
        const filter: AuditFilter = {
          accountId: principal.accountId,
          from: query.from,
          toExclusive: query.to,
          actionTypes: query.actionTypes,
          violationsOnly: query.violationsOnly,
          agentId: query.agentId,
          executionId: query.executionId,
        };
        const limit = query.limit ?? 100;
        const [{ rows, hasMore }, total] = await Promise.all([deps.audit.page(filter, query.cursor ?? 0, limit), deps.audit.count(filter)]);
        const events = rows.map(presentAuditRecord);
        return {
          status: 200,
          body: {
            events,
            total,
            // True only when every returned event is anchored on chain; nothing is anchored
            // until the anchorer runs.
            anchored: false,
            next_cursor: hasMore ? encodeAuditCursor(events[events.length - 1]!.sequence) : null,
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/sdk/audit/export',
      summary: 'Export the audit trail as JSON, CSV or a summary (streamed)',
      tag: TAG,
      auth: 'audit:read',
      query: auditExportQuery,
      responses: {
        200: { description: 'JSON export, CSV file (text/csv) or summary', schema: auditSummaryOutput },
        ...common,
      },
      async handle({ query, principal, ctx }) {
        const filter: AuditFilter = { accountId: principal.accountId, from: query.from, toExclusive: query.to };
        const range = { from: query.from?.toISOString() ?? null, to: query.to ? new Date(query.to.getTime() - 1).toISOString() : null };
        const stamp = now().toISOString().replace(/[:.]/g, '-');
        if (query.format === 'summary') {
          const [{ byType, violations }, bounds] = await Promise.all([deps.audit.countsByActionType(filter), deps.audit.sequenceRange(filter)]);
          const chain = bounds
            ? await deps.audit.verifyChain(principal.accountId, { fromSequence: bounds.first, toSequence: bounds.last })
            : { valid: true as const, checked: 0 };
          const total = Object.values(byType).reduce((a, b) => a + b, 0);
          return { status: 200, body: { ...range, total, by_action_type: byType, violations, chain } };
        }
        ctx.status = 200;
        if (query.format === 'csv') {
          ctx.set('Content-Type', 'text/csv; charset=utf-8');
          ctx.set('Content-Disposition', `attachment; filename="audit-${stamp}.csv"`);
          ctx.body = Readable.from(csvLines(filter));
        } else {
          ctx.set('Content-Type', 'application/json; charset=utf-8');
          ctx.set('Content-Disposition', `attachment; filename="audit-${stamp}.json"`);
          ctx.body = Readable.from(jsonChunks(filter, { exported_at: now().toISOString(), ...range }));
        }
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/sdk/audit/:recordId/verify',
      summary: 'Verify one record: re-derive its hash and every hash before it in its chain',
      tag: TAG,
      auth: 'audit:read',
      params: recordIdParams,
      responses: {
        200: { description: 'Verification result', schema: verifyOutput },
        404: { description: 'No such record in this account', schema: errorBody },
        ...common,
      },
      async handle({ params, principal }) {
        const row = await deps.audit.findRecord(principal.accountId, params.recordId);
        if (!row) throw errors.notFound(`audit record ${params.recordId}`);
        const sequence = Number(row.sequence);
        const chain = await deps.audit.verifyChain(principal.accountId, { toSequence: sequence });
        return {
          status: 200,
          body: {
            record_id: Number(row.id),
            sequence,
            hash: row.hash,
            prev_hash: row.prev_hash,
            chain_valid: chain.valid,
            checked: chain.checked,
            ...(chain.valid ? {} : { broken_at: chain.broken_at }),
            verified_at: now().toISOString(),
            anchored: false,
          },
        };
      },
    }),
  ];
}


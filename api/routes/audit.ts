// The audit trail API: query, export, per-record verification.
import { Readable } from 'node:stream';
import { errors } from '../../shared/errors.ts';
import { presentAuditRecord, type AuditRecordView } from '../../shared/audit/audit-record.ts';
import { csvRow } from '../../shared/audit/csv.ts';
import type { AuditFilter, AuditStore } from '../../shared/db/stores/audit-store.ts';
import type { AnchorStore } from '../../shared/db/stores/anchor-store.ts';
import { leafHash, verifyInclusion } from '../../shared/audit/merkle-tree.ts';
import type { ChainView } from '../anchors/chain-view.ts';
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
  readonly anchors: AnchorStore;
  /** Live confirmation counts for the verify endpoint. */
  readonly chain: ChainView;
  readonly now?: () => Date;
}

const TAG = 'Audit';
const common = authErrorResponses('audit:read');

const NOT_ANCHORED = {
  anchored: false,
  anchor_batch_id: null,
  merkle_root: null,
  leaf_index: null,
  tree_size: null,
  inclusion_proof: null,
  inclusion_valid: null,
  anchor_tx_hash: null,
  block_number: null,
  chain_id: null,
  confirmations: null,
  confirmations_source: null,
} as const;

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

  /** The record's anchor: its batch, leaf, audit path and transaction, with the path checked here too. */
  async function anchorFields(recordId: number, recordHash: string) {
    const anchor = await deps.anchors.anchorOf(recordId);
    if (!anchor) return NOT_ANCHORED;
    const { batch, leafIndex } = anchor;
    const treeSize = Number(batch.record_count);
    const [{ proof, leafHash: storedLeaf }, confirmations] = await Promise.all([
      deps.anchors.inclusionProof(Number(batch.id), leafIndex, treeSize),
      deps.chain.confirmations(batch),
    ]);
    // The record as stored now must be the leaf that was anchored, and the path must reach the root.
    const inclusionValid =
      leafHash(recordHash).toString('hex') === storedLeaf &&
      verifyInclusion({ leafData: recordHash, index: leafIndex, treeSize, proof, root: batch.merkle_root }).valid;
    return {
      anchored: true,
      anchor_batch_id: Number(batch.id),
      merkle_root: batch.merkle_root,
      leaf_index: leafIndex,
      tree_size: treeSize,
      inclusion_proof: proof,
      inclusion_valid: inclusionValid,
      anchor_tx_hash: batch.tx_hash,
      block_number: Number(batch.block_number),
      chain_id: Number(batch.chain_id),
      confirmations: confirmations.count,
      confirmations_source: confirmations.source,
    };
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
        const { rows, hasMore, total } = await deps.audit.pageWithTotal(filter, query.cursor ?? 0, limit);
        const events = rows.map(presentAuditRecord);
        // An empty page claims nothing, so it is not "anchored".
        const anchored = events.length > 0 && (await deps.anchors.countAnchored(events.map((e) => e.id))) === events.length;
        return {
          status: 200,
          body: {
            events,
            total,
            anchored,
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
        const [chain, anchor] = await Promise.all([
          deps.audit.verifyChain(principal.accountId, { toSequence: sequence }),
          anchorFields(params.recordId, row.hash),
        ]);
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
            ...anchor,
          },
        };
      },
    }),
  ];
}


// Anchoring as an account sees it: its confirmed batches, whether its records wait, the
// anchorer's health, and the self-contained proof file of one anchored record.
import { errors, AppError } from '../../shared/errors.ts';
import { buildAnchorProof, anchorProofSchema } from '../../shared/audit/anchor-proof.ts';
import type { AnchorerStatus } from '../../shared/chain/anchorer-status.ts';
import type { AnchorStore } from '../../shared/db/stores/anchor-store.ts';
import type { AuditStore } from '../../shared/db/stores/audit-store.ts';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { authErrorResponses, errorBody } from '../schemas/common.ts';
import { recordIdParams } from '../schemas/audit-schemas.ts';
import { anchorListOutput, anchorStatusOutput, listAnchorsQuery } from '../schemas/anchor-schemas.ts';
import { presentAccountBatch } from '../anchors/anchor-presenter.ts';

export interface AnchorRouteDeps {
  readonly anchors: AnchorStore;
  readonly audit: AuditStore;
  /** The active anchorer's published status (null when none reports). */
  readonly anchorerStatus: () => Promise<AnchorerStatus | null>;
}

const TAG = 'Anchoring';
const common = authErrorResponses('audit:read');

export function anchorRoutes(deps: AnchorRouteDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/sdk/anchors',
      summary: "List the confirmed anchor batches that hold the account's audit records, newest first",
      tag: TAG,
      auth: 'audit:read',
      query: listAnchorsQuery,
      responses: { 200: { description: 'A page of anchor batches', schema: anchorListOutput }, ...common },
      async handle({ query, principal }) {
        const page = query.page ?? 1;
        const limit = query.limit ?? 20;
        const { rows, total } = await deps.anchors.listForAccount(principal.accountId, (page - 1) * limit, limit);
        return { status: 200, body: { anchors: rows.map(presentAccountBatch), total, page, limit } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/sdk/anchors/status',
      summary: "Anchoring status: the anchorer's health and the account's records still waiting",
      tag: TAG,
      auth: 'audit:read',
      responses: { 200: { description: 'Anchoring status', schema: anchorStatusOutput }, ...common },
      async handle({ principal }) {
        const [anchorer, waiting, pending, last] = await Promise.all([
          deps.anchorerStatus(),
          deps.anchors.waitingCount(principal.accountId),
          deps.anchors.pendingForAccount(principal.accountId),
          deps.anchors.listForAccount(principal.accountId, 0, 1),
        ]);
        return {
          status: 200,
          body: {
            anchorer,
            records_waiting: waiting,
            pending_batch: pending && { id: pending.id, account_record_count: pending.accountRecordCount, created_at: pending.createdAt.toISOString() },
            last_batch: last.rows[0] ? presentAccountBatch(last.rows[0]) : null,
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/sdk/audit/:recordId/proof',
      summary: 'Download the self-contained proof file of an anchored record (check it with `tz audit verify-proof`)',
      tag: 'Audit',
      auth: 'audit:read',
      params: recordIdParams,
      responses: {
        200: { description: 'The proof file', schema: anchorProofSchema },
        404: { description: 'No such record in this account', schema: errorBody },
        409: { description: 'The record is not anchored yet (code not_anchored)', schema: errorBody },
        ...common,
      },
      async handle({ params, principal, ctx }) {
        const row = await deps.audit.findRecord(principal.accountId, params.recordId);
        if (!row) throw errors.notFound(`audit record ${params.recordId}`);
        const anchor = await deps.anchors.anchorOf(params.recordId);
        if (!anchor) {
          throw new AppError(409, 'not_anchored', `audit record ${params.recordId} is not anchored yet; it will be after the next anchor batch is confirmed`);
        }
        const { batch, leafIndex } = anchor;
        const { proof } = await deps.anchors.inclusionProof(Number(batch.id), leafIndex, Number(batch.record_count));
        ctx.set('Content-Disposition', `attachment; filename="audit-record-${params.recordId}-proof.json"`);
        return {
          status: 200,
          body: buildAnchorProof(row, leafIndex, proof, {
            batchId: Number(batch.id),
            chainId: batch.chain_id,
            txHash: batch.tx_hash,
            blockNumber: batch.block_number,
            blockHash: batch.block_hash,
            anchorAddress: batch.anchor_address,
            firstRecordId: batch.first_record_id,
            lastRecordId: batch.last_record_id,
            recordCount: Number(batch.record_count),
            confirmationsRequired: Number(batch.confirmations),
            confirmedAt: batch.confirmed_at,
            merkleRoot: batch.merkle_root,
          }),
        };
      },
    }),
  ];
}

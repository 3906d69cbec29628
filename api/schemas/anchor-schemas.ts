// Response shapes of the anchoring endpoints: an account's batches, anchoring status, and
// the proof file (whose schema is the verifier's own, shared/audit/anchor-proof.ts).
import { z } from 'zod';
import { anchorerStatusSchema } from '../../shared/chain/anchorer-status.ts';
import { intFromQuery, timestamp } from './common.ts';

export const listAnchorsQuery = z
  .object({ page: intFromQuery(1, 1_000_000).optional(), limit: intFromQuery(1, 100).optional() })
  .strict();

export const anchorBatchOutput = z
  .object({
    id: z.number().int(),
    merkle_root: z.string(),
    first_record_id: z.number().int(),
    last_record_id: z.number().int(),
    record_count: z.number().int(),
    chain_id: z.number().int(),
    tx_hash: z.string(),
    block_number: z.number().int(),
    block_hash: z.string(),
    anchor_address: z.string(),
    confirmations_required: z.number().int(),
    confirmed_at: timestamp,
    account: z
      .object({ record_count: z.number().int(), first_sequence: z.number().int(), last_sequence: z.number().int() })
      .meta({ description: "This account's records in the batch: how many, and their sequence range" }),
  })
  .meta({ id: 'AnchorBatch' });

export const anchorListOutput = z.object({
  anchors: z.array(anchorBatchOutput),
  total: z.number().int(),
  page: z.number().int(),
  limit: z.number().int(),
});

export const anchorStatusOutput = z.object({
  anchorer: anchorerStatusSchema
    .nullable()
    .meta({ description: 'Health of the active anchorer (chain reachability, error counters); null when none has reported within three lease periods' }),
  records_waiting: z.number().int().meta({ description: "This account's records not yet in any batch" }),
  pending_batch: z
    .object({ id: z.number().int(), account_record_count: z.number().int(), created_at: timestamp })
    .nullable()
    .meta({ description: "The batch on its way to the chain, when it holds records of this account" }),
  last_batch: anchorBatchOutput.nullable().meta({ description: "This account's most recent confirmed batch" }),
});

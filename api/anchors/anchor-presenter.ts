// The public JSON shape of a confirmed anchor batch.
import type { AccountBatchRow, ConfirmedBatchRow } from '../../shared/db/stores/anchor-store.ts';

export function presentBatch(row: ConfirmedBatchRow) {
  return {
    id: Number(row.id),
    merkle_root: row.merkle_root,
    first_record_id: Number(row.first_record_id),
    last_record_id: Number(row.last_record_id),
    record_count: Number(row.record_count),
    chain_id: Number(row.chain_id),
    tx_hash: row.tx_hash,
    block_number: Number(row.block_number),
    block_hash: row.block_hash,
    anchor_address: row.anchor_address,
    confirmations_required: Number(row.confirmations),
    confirmed_at: row.confirmed_at.toISOString(),
  };
}

export function presentAccountBatch(row: AccountBatchRow) {
  return {
    ...presentBatch(row),
    account: {
      record_count: Number(row.account_record_count),
      first_sequence: Number(row.first_sequence),
      last_sequence: Number(row.last_sequence),
    },
  };
}

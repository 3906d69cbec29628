// The anchorer's writes: planning a batch (records out of the queue, leaves, tree, in one
// transaction), recording each signed transaction before it is broadcast, and confirming.
// Everything a crashed anchorer needs to resume is in these rows.
import type { DataSource, EntityManager } from 'typeorm';
import { HASH_BYTES, MerkleTree } from '../shared/audit/merkle-tree.ts';
import type { FeeQuote } from '../shared/chain/evm-chain.ts';
import type { AnchorBatchRow } from '../shared/db/stores/anchor-store.ts';

export interface AnchorAttempt {
  readonly txHash: string;
  readonly nonce: bigint;
  readonly raw: string;
  readonly fees: FeeQuote;
  readonly createdAt: Date;
}

export interface PendingBatch {
  readonly id: number;
  readonly merkleRoot: string;
  readonly firstRecordId: bigint;
  readonly lastRecordId: bigint;
  readonly recordCount: number;
  readonly chainId: bigint;
  readonly anchorAddress: string;
  readonly confirmations: number;
  /** Oldest first. At most one of them can ever be mined (see anchorer.ts). */
  readonly attempts: readonly AnchorAttempt[];
}

export interface PlanOptions {
  readonly maxRecords: number;
  readonly chainId: bigint;
  readonly anchorAddress: string;
  readonly confirmations: number;
}

export interface Confirmation {
  readonly txHash: string;
  readonly nonce: bigint;
  readonly blockNumber: bigint;
  readonly blockHash: string;
}

type BatchRow = Pick<AnchorBatchRow, 'id' | 'merkle_root' | 'first_record_id' | 'last_record_id' | 'record_count' | 'chain_id' | 'anchor_address' | 'confirmations'>;

interface AttemptRow {
  tx_hash: string;
  nonce: string;
  raw: string;
  fees: { type: 0; gasPrice: string } | { type: 2; maxFeePerGas: string; maxPriorityFeePerGas: string };
  created_at: Date;
}

const UNIQUE_VIOLATION = '23505';

/** Thrown inside the planning transaction to roll it back when there was nothing to take. */
class NothingToPlan extends Error {}

export class AnchorBatches {
  constructor(private readonly db: DataSource) {}

  /** The batch on its way to the chain, if any (there is at most one). */
  async pending(): Promise<PendingBatch | null> {
    const [row] = (await this.db.query(
      `SELECT id, merkle_root, first_record_id, last_record_id, record_count, chain_id, anchor_address, confirmations
         FROM anchor_batches WHERE status = 'pending'`,
    )) as BatchRow[];
    return row ? this.withAttempts(this.db.manager, row) : null;
  }

  async hasWaitingRecords(): Promise<boolean> {
    const [row] = (await this.db.query(`SELECT EXISTS (SELECT 1 FROM anchor_queue) AS waiting`)) as { waiting: boolean }[];
    return row!.waiting;
  }

  /**
   * Takes up to maxRecords waiting records (lowest ids first) into a new batch: their queue
   * rows go, their leaves, per-account ranges and the batch's whole Merkle tree are written,
   * all in one transaction. Returns null when nothing waits, or when another batch is
   * pending (the one-pending index makes a concurrent planner fail here and change nothing).
   */
  async plan(options: PlanOptions): Promise<PendingBatch | null> {
    try {
      return await this.db.transaction(async (tx) => {
        const [created] = (await tx.query(
          `INSERT INTO anchor_batches (chain_id, anchor_address, confirmations) VALUES ($1, $2, $3) RETURNING id`,
          [options.chainId.toString(), options.anchorAddress, options.confirmations],
        )) as { id: string }[];
        const batchId = created!.id;
        const [taken] = (await tx.query(
          `WITH taken AS (
             DELETE FROM anchor_queue WHERE record_id IN (
               SELECT record_id FROM anchor_queue ORDER BY record_id LIMIT $2 FOR UPDATE SKIP LOCKED)
             RETURNING record_id, account_id, sequence, hash),
           leaves AS (
             INSERT INTO anchor_leaves (record_id, batch_id, leaf_index)
             SELECT record_id, $1, (row_number() OVER (ORDER BY record_id)) - 1 FROM taken),
           accounts AS (
             INSERT INTO anchor_batch_accounts (account_id, batch_id, record_count, first_sequence, last_sequence)
             SELECT account_id, $1, count(*), min(sequence), max(sequence) FROM taken GROUP BY account_id)
           SELECT count(*)::int AS n, min(record_id)::text AS first, max(record_id)::text AS last,
                  string_agg(decode(hash, 'hex'), ''::bytea ORDER BY record_id) AS hashes
             FROM taken`,
          [batchId, options.maxRecords],
        )) as { n: number; first: string | null; last: string | null; hashes: Buffer | null }[];
        if (!taken || taken.n === 0 || !taken.hashes) throw new NothingToPlan();
        const hashes = taken.hashes;
        const leaves = Array.from({ length: taken.n }, (_, i) => hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
        const tree = new MerkleTree(leaves);
        for (let level = 0; level < tree.levelCount; level++) {
          await tx.query(`INSERT INTO anchor_tree_levels (batch_id, level, nodes) VALUES ($1, $2, $3)`, [batchId, level, tree.levelHashes(level)]);
        }
        await tx.query(
          `UPDATE anchor_batches SET merkle_root = $2, first_record_id = $3, last_record_id = $4, record_count = $5 WHERE id = $1`,
          [batchId, tree.rootHex, taken.first, taken.last, taken.n],
        );
        return this.withAttempts(tx, {
          id: batchId,
          merkle_root: tree.rootHex,
          first_record_id: taken.first!,
          last_record_id: taken.last!,
          record_count: taken.n,
          chain_id: options.chainId.toString(),
          anchor_address: options.anchorAddress,
          confirmations: options.confirmations,
        });
      });
    } catch (err) {
      if (err instanceof NothingToPlan) return null;
      if ((err as { driverError?: { code?: string } }).driverError?.code === UNIQUE_VIOLATION) return null;
      throw err;
    }
  }

  /**
   * Adds a signed transaction to the batch, before it is broadcast, unless the batch's
   * attempts are no longer those the caller decided on (another anchorer added one): then
   * nothing is written and 'stale' tells the caller to reload. `sign` runs under the batch's
   * row lock, so two anchorers cannot both choose a nonce for the same batch.
   */
  async addAttempt(batch: PendingBatch, sign: () => Promise<Omit<AnchorAttempt, 'createdAt'>>): Promise<'added' | 'stale'> {
    return this.db.transaction(async (tx) => {
      const [row] = (await tx.query(`SELECT status FROM anchor_batches WHERE id = $1 FOR UPDATE`, [batch.id])) as { status: string }[];
      if (row?.status !== 'pending') return 'stale';
      const known = (await tx.query(`SELECT tx_hash FROM anchor_transactions WHERE batch_id = $1`, [batch.id])) as { tx_hash: string }[];
      if (known.length !== batch.attempts.length || known.some((k) => !batch.attempts.some((a) => a.txHash === k.tx_hash))) return 'stale';
      const attempt = await sign();
      await tx.query(`INSERT INTO anchor_transactions (tx_hash, batch_id, nonce, raw, fees) VALUES ($1, $2, $3, $4, $5)`, [
        attempt.txHash,
        batch.id,
        attempt.nonce.toString(),
        attempt.raw,
        JSON.stringify(feesToJson(attempt.fees)),
      ]);
      return 'added';
    });
  }

  async reload(batch: PendingBatch): Promise<PendingBatch | null> {
    const pending = await this.pending();
    return pending?.id === batch.id ? pending : null;
  }

  /** Marks the batch confirmed; false if it was not pending any more (someone else did). */
  async confirm(batch: PendingBatch, confirmation: Confirmation): Promise<boolean> {
    const [, count] = (await this.db.query(
      `UPDATE anchor_batches SET status = 'confirmed', tx_hash = $2, nonce = $3, block_number = $4, block_hash = $5, confirmed_at = now()
        WHERE id = $1 AND status = 'pending'`,
      [batch.id, confirmation.txHash, confirmation.nonce.toString(), confirmation.blockNumber.toString(), confirmation.blockHash],
    )) as [unknown, number];
    return count === 1;
  }

  private async withAttempts(q: EntityManager, row: BatchRow): Promise<PendingBatch> {
    const attempts = (await q.query(
      `SELECT tx_hash, nonce, raw, fees, created_at FROM anchor_transactions WHERE batch_id = $1 ORDER BY created_at, tx_hash`,
      [row.id],
    )) as AttemptRow[];
    return {
      id: Number(row.id),
      merkleRoot: row.merkle_root,
      firstRecordId: BigInt(row.first_record_id),
      lastRecordId: BigInt(row.last_record_id),
      recordCount: Number(row.record_count),
      chainId: BigInt(row.chain_id),
      anchorAddress: row.anchor_address,
      confirmations: Number(row.confirmations),
      attempts: attempts.map((a) => ({ txHash: a.tx_hash, nonce: BigInt(a.nonce), raw: a.raw, fees: feesFromJson(a.fees), createdAt: a.created_at })),
    };
  }
}

function feesToJson(fees: FeeQuote): AttemptRow['fees'] {
  return fees.type === 2
    ? { type: 2, maxFeePerGas: fees.maxFeePerGas.toString(), maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString() }
    : { type: 0, gasPrice: fees.gasPrice.toString() };
}

function feesFromJson(fees: AttemptRow['fees']): FeeQuote {
  return fees.type === 2
    ? { type: 2, maxFeePerGas: BigInt(fees.maxFeePerGas), maxPriorityFeePerGas: BigInt(fees.maxPriorityFeePerGas) }
    : { type: 0, gasPrice: BigInt(fees.gasPrice) };
}

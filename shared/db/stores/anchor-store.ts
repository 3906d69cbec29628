// Reads of anchoring state for the api and the CLI: which confirmed batch holds a record and
// its inclusion proof (read node by node from the stored tree), an account's batches, and
// what still waits. Every account-facing read is scoped to one account.
import type { DataSource } from 'typeorm';
import { HASH_BYTES, inclusionProofPositions } from '../../audit/merkle-tree.ts';

export interface AnchorBatchRow {
  id: string;
  status: 'pending' | 'confirmed';
  merkle_root: string;
  first_record_id: string;
  last_record_id: string;
  record_count: number;
  chain_id: string;
  anchor_address: string;
  confirmations: number;
  tx_hash: string | null;
  block_number: string | null;
  block_hash: string | null;
  created_at: Date;
  confirmed_at: Date | null;
}

/** A confirmed batch: the transaction fields are set. */
export interface ConfirmedBatchRow extends AnchorBatchRow {
  status: 'confirmed';
  tx_hash: string;
  block_number: string;
  block_hash: string;
  confirmed_at: Date;
}

export interface AccountBatchRow extends ConfirmedBatchRow {
  account_record_count: number;
  first_sequence: string;
  last_sequence: string;
}

export interface RecordAnchor {
  readonly batch: ConfirmedBatchRow;
  readonly leafIndex: number;
}

const BATCH_COLUMNS =
  'b.id, b.status, b.merkle_root, b.first_record_id, b.last_record_id, b.record_count, b.chain_id, b.anchor_address, b.confirmations, b.tx_hash, b.block_number, b.block_hash, b.created_at, b.confirmed_at';

export class AnchorStore {
  constructor(private readonly db: DataSource) {}

  /** The confirmed batch holding the record and its leaf index; null while it waits or is on its way. */
  async anchorOf(recordId: number): Promise<RecordAnchor | null> {
    const [row] = (await this.db.query(
      `SELECT ${BATCH_COLUMNS}, l.leaf_index FROM anchor_leaves l JOIN anchor_batches b ON b.id = l.batch_id
        WHERE l.record_id = $1 AND b.status = 'confirmed'`,
      [recordId],
    )) as (ConfirmedBatchRow & { leaf_index: number })[];
    if (!row) return null;
    const { leaf_index, ...batch } = row;
    return { batch, leafIndex: Number(leaf_index) };
  }

  /** The audit path of a leaf, lowercase hex, and the stored leaf hash itself. */
  async inclusionProof(batchId: number, leafIndex: number, treeSize: number): Promise<{ proof: string[]; leafHash: string }> {
    const positions = [{ level: 0, index: leafIndex }, ...inclusionProofPositions(leafIndex, treeSize)];
    const rows = (await this.db.query(
      `SELECT p.ord, substring(l.nodes FROM p.off + 1 FOR ${HASH_BYTES}) AS node
         FROM unnest($2::int[], $3::int[]) WITH ORDINALITY AS p(level, off, ord)
         JOIN anchor_tree_levels l ON l.batch_id = $1 AND l.level = p.level
        ORDER BY p.ord`,
      [batchId, positions.map((p) => p.level), positions.map((p) => p.index * HASH_BYTES)],
    )) as { ord: string; node: Buffer }[];
    if (rows.length !== positions.length || rows.some((r) => r.node.length !== HASH_BYTES)) {
      throw new Error(`the stored tree of anchor batch ${batchId} is incomplete`);
    }
    const [leaf, ...proof] = rows.map((r) => r.node.toString('hex'));
    return { proof, leafHash: leaf! };
  }

  /** How many of these records are in a confirmed batch. */
  async countAnchored(recordIds: readonly number[]): Promise<number> {
    if (recordIds.length === 0) return 0;
    const [row] = (await this.db.query(
      `SELECT count(*)::int AS n FROM anchor_leaves l JOIN anchor_batches b ON b.id = l.batch_id
        WHERE l.record_id = ANY($1::bigint[]) AND b.status = 'confirmed'`,
      [recordIds],
    )) as { n: number }[];
    return row!.n;
  }

  /** Confirmed batches holding records of the account, newest first. */
  async listForAccount(accountId: number, offset: number, limit: number): Promise<{ rows: AccountBatchRow[]; total: number }> {
    const [rows, [count]] = await Promise.all([
      this.db.query(
        `SELECT ${BATCH_COLUMNS}, a.record_count AS account_record_count, a.first_sequence, a.last_sequence
           FROM anchor_batch_accounts a JOIN anchor_batches b ON b.id = a.batch_id
          WHERE a.account_id = $1 AND b.status = 'confirmed'
          ORDER BY b.id DESC OFFSET $2 LIMIT $3`,
        [accountId, offset, limit],
      ) as Promise<AccountBatchRow[]>,
      this.db.query(
        `SELECT count(*)::int AS n FROM anchor_batch_accounts a JOIN anchor_batches b ON b.id = a.batch_id
          WHERE a.account_id = $1 AND b.status = 'confirmed'`,
        [accountId],
      ) as Promise<{ n: number }[]>,
    ]);
    return { rows, total: count!.n };
  }

  async lastConfirmed(): Promise<ConfirmedBatchRow | null> {
    const [row] = (await this.db.query(
      `SELECT ${BATCH_COLUMNS} FROM anchor_batches b WHERE b.status = 'confirmed' ORDER BY b.id DESC LIMIT 1`,
    )) as ConfirmedBatchRow[];
    return row ?? null;
  }

  /** The pending batch and how many of the account's records it holds, if it holds any. */
  async pendingForAccount(accountId: number): Promise<{ id: number; accountRecordCount: number; createdAt: Date } | null> {
    const [row] = (await this.db.query(
      `SELECT b.id, a.record_count, b.created_at FROM anchor_batches b JOIN anchor_batch_accounts a ON a.batch_id = b.id
        WHERE b.status = 'pending' AND a.account_id = $1`,
      [accountId],
    )) as { id: string; record_count: number; created_at: Date }[];
    return row ? { id: Number(row.id), accountRecordCount: Number(row.record_count), createdAt: row.created_at } : null;
  }

  async pending(): Promise<AnchorBatchRow | null> {
    const [row] = (await this.db.query(`SELECT ${BATCH_COLUMNS} FROM anchor_batches b WHERE b.status = 'pending'`)) as AnchorBatchRow[];
    return row ?? null;
  }

  /** Records not yet in any batch: all of them, or the account's. */
  async waitingCount(accountId?: number): Promise<number> {
    const [row] = (await (accountId === undefined
      ? this.db.query(`SELECT count(*)::int AS n FROM anchor_queue`)
      : this.db.query(`SELECT count(*)::int AS n FROM anchor_queue WHERE account_id = $1`, [accountId]))) as { n: number }[];
    return row!.n;
  }
}

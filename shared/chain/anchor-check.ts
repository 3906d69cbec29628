// The on-chain half of checking a proof file: the transaction the file names must exist on
// the file's chain, be the anchor transaction it claims (its signed bytes re-hash to its hash;
// its calldata carries the file's root, range and count; sent by the anchor key to itself),
// be mined successfully in the file's block, and be buried under enough blocks.
// What it still trusts: the node for which block is canonical. Ask a node you trust, or more
// than one (docs/anchoring.md).
import { Signature, Transaction } from 'ethers';
import type { AnchorProofFile } from '../audit/anchor-proof.ts';
import { decodeAnchorPayload } from './anchor-payload.ts';
import type { ChainTransaction, EvmChain } from './evm-chain.ts';

export type ChainFailureReason =
  | 'chain_id_mismatch'
  | 'tx_not_found'
  | 'tx_not_mined'
  | 'tx_reverted'
  | 'tx_hash_mismatch'
  | 'not_an_anchor_transaction'
  | 'sender_mismatch'
  | 'root_mismatch'
  | 'range_mismatch'
  | 'block_mismatch'
  | 'insufficient_confirmations';

export type ChainCheck =
  | { valid: true; confirmations: bigint; sender: string; blockNumber: bigint }
  | { valid: false; reason: ChainFailureReason; detail: string };

export interface ChainCheckOptions {
  /** Defaults to the confirmations the anchorer waited for (the file's confirmations_required). */
  readonly minConfirmations?: number;
  /** The anchor address published by the operator; defaults to the one in the file. */
  readonly expectedSender?: string;
}

export async function checkAnchorOnChain(chain: EvmChain, file: AnchorProofFile, options: ChainCheckOptions = {}): Promise<ChainCheck> {
  const { anchor, merkle } = file;
  const fail = (reason: ChainFailureReason, detail: string): ChainCheck => ({ valid: false, reason, detail });

  const chainId = await chain.chainId();
  if (chainId.toString() !== anchor.chain_id) return fail('chain_id_mismatch', `the RPC serves chain ${chainId}, the proof is for chain ${anchor.chain_id}`);

  const tx = await chain.transaction(anchor.tx_hash);
  if (!tx) return fail('tx_not_found', `transaction ${anchor.tx_hash} is not known to this chain`);
  // Do not take the node's word for sender and calldata: rebuild the signed transaction,
  // check it hashes to the transaction hash and recover the sender from its signature.
  const rebuilt = rebuild(tx);
  if (!rebuilt) return fail('not_an_anchor_transaction', `transaction ${anchor.tx_hash} is of a type an anchor transaction never has`);
  if (rebuilt.hash !== anchor.tx_hash) return fail('tx_hash_mismatch', `the transaction the node returned hashes to ${rebuilt.hash}, not ${anchor.tx_hash}`);
  const sender = rebuilt.from;
  const expected = (options.expectedSender ?? anchor.anchor_address).toLowerCase();
  if (sender !== expected) return fail('sender_mismatch', `sent by ${sender}, expected the anchor address ${expected}`);
  if (rebuilt.to !== sender || tx.value !== 0n) return fail('not_an_anchor_transaction', 'an anchor transaction is sent by the anchor key to itself with value 0');

  const payload = decodeAnchorPayload(tx.input);
  if (!payload) return fail('not_an_anchor_transaction', 'the calldata is not an anchor payload (TZA1)');
  if (payload.merkleRoot !== merkle.root) return fail('root_mismatch', `the transaction anchors root ${payload.merkleRoot}, the proof leads to ${merkle.root}`);
  if (
    payload.firstRecordId.toString() !== anchor.first_record_id ||
    payload.lastRecordId.toString() !== anchor.last_record_id ||
    payload.recordCount !== BigInt(anchor.record_count)
  ) {
    return fail(
      'range_mismatch',
      `the transaction anchors records ${payload.firstRecordId}..${payload.lastRecordId} (${payload.recordCount}), the proof says ${anchor.first_record_id}..${anchor.last_record_id} (${anchor.record_count})`,
    );
  }

  const receipt = await chain.receipt(anchor.tx_hash);
  if (!receipt) return fail('tx_not_mined', `transaction ${anchor.tx_hash} is not in a block`);
  if (receipt.status !== 1n) return fail('tx_reverted', `transaction ${anchor.tx_hash} failed on chain`);
  if (receipt.blockNumber.toString() !== anchor.block_number || receipt.blockHash !== anchor.block_hash) {
    return fail('block_mismatch', `mined in block ${receipt.blockNumber} (${receipt.blockHash}), the proof says ${anchor.block_number} (${anchor.block_hash})`);
  }
  const head = await chain.blockNumber();
  const confirmations = head >= receipt.blockNumber ? head - receipt.blockNumber + 1n : 0n;
  const needed = BigInt(options.minConfirmations ?? anchor.confirmations_required);
  if (confirmations < needed) return fail('insufficient_confirmations', `${confirmations} confirmation(s), ${needed} required`);
  return { valid: true, confirmations, sender, blockNumber: receipt.blockNumber };
}

/** The signed transaction from its JSON-RPC fields; null for types an anchor never uses. */
function rebuild(tx: ChainTransaction): { hash: string; from: string; to: string | null } | null {
  const type = Number(tx.type ?? 0n);
  if (type !== 0 && type !== 1 && type !== 2) return null;
  try {
    const signature = Signature.from({
      r: `0x${tx.r.toString(16).padStart(64, '0')}`,
      s: `0x${tx.s.toString(16).padStart(64, '0')}`,
      ...(type === 0 ? { v: tx.v! } : { yParity: Number(tx.yParity ?? tx.v) as 0 | 1 }),
    });
    const rebuilt = Transaction.from({
      type,
      chainId: tx.chainId ?? 0n,
      nonce: Number(tx.nonce),
      gasLimit: tx.gas,
      to: tx.to,
      value: tx.value,
      data: tx.input,
      ...(type === 2 ? { maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas } : { gasPrice: tx.gasPrice }),
      ...(type !== 0 ? { accessList: tx.accessList ?? [] } : {}),
      signature,
    });
    return { hash: rebuilt.hash!.toLowerCase(), from: rebuilt.from!.toLowerCase(), to: rebuilt.to?.toLowerCase() ?? null };
  } catch {
    return null;
  }
}

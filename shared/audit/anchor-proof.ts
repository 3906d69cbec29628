// The self-contained proof file of one anchored audit record: the record's hashed fields,
// its inclusion proof and the anchor transaction that carries the root. Everything needed
// to check the record with SHA-256 and an Ethereum node, and nothing else (docs/anchoring.md).
// Building and the offline half of checking are pure; anchor-check.ts asks the chain.
import { z } from 'zod';
import { hashedFieldsOf, type AuditRecordRow } from './audit-record.ts';
import { verifyInclusion, type InclusionFailure } from './merkle-tree.ts';
import { computeRecordHash, type AuditHashedField } from './record-hash.ts';

export const PROOF_FORMAT = 'thetazero-audit-anchor-proof';
export const PROOF_VERSION = 1;
/** SHA-256 over the RFC 8785 canonical JSON of the hashed fields (docs/audit.md, "The hash"). */
export const RECORD_HASH_PROCEDURE = 'tz-audit-record-v1: sha256(jcs(hashed fields + prev_hash))';
/** RFC 6962 / RFC 9162 tree: leaf = SHA-256(0x00 || record hash), node = SHA-256(0x01 || left || right). */
export const MERKLE_PROCEDURE = 'rfc6962-sha256';
/** Calldata layout of the anchor transaction (shared/chain/anchor-payload.ts). */
export const CALLDATA_FORMAT = 'TZA1: magic(4) || root(32) || first_record_id(u64be) || last_record_id(u64be) || record_count(u64be), self-send';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const txHash = z.string().regex(/^0x[0-9a-f]{64}$/, 'must be a 0x-prefixed 32-byte hash');
const decimalId = z.string().regex(/^[1-9][0-9]{0,18}$/, 'must be a decimal id');
const address = z.string().regex(/^0x[0-9a-f]{40}$/, 'must be a lowercase 0x address');

export const anchorProofSchema = z
  .object({
    format: z.literal(PROOF_FORMAT),
    version: z.literal(PROOF_VERSION),
    record_hash_procedure: z.literal(RECORD_HASH_PROCEDURE),
    /**
     * The record as hashed: ids as decimal strings, recorded_at as a millisecond UTC ISO string.
     * Its fields are written out here on purpose, not derived from the API's record schema
     * (auditRecordView, audit-record.ts): this is version 1 of a file format others verify
     * with their own code, and the verifier must keep accepting the files already handed out
     * however the API's shape moves. The hash fixes this list; the check below holds it there.
     */
    record: z
      .object({
        id: decimalId,
        account_id: decimalId,
        sequence: z.number().int().min(1),
        recorded_at: z.string(),
        event_id: z.string(),
        agent_id: decimalId.nullable(),
        execution_id: decimalId.nullable(),
        actor: z.string(),
        action_type: z.string(),
        action_category: z.string(),
        description: z.string(),
        input_summary: z.string().nullable(),
        output_summary: z.string().nullable(),
        permission_state: z.record(z.string(), z.unknown()),
        is_violation: z.boolean(),
        prev_hash: hex64,
        hash: hex64,
      })
      .strict(),
    merkle: z
      .object({
        procedure: z.literal(MERKLE_PROCEDURE),
        leaf_index: z.number().int().min(0),
        tree_size: z.number().int().min(1),
        inclusion_proof: z.array(hex64).max(64),
        root: hex64,
      })
      .strict(),
    anchor: z
      .object({
        calldata_format: z.literal(CALLDATA_FORMAT),
        batch_id: z.number().int().min(1),
        chain_id: decimalId,
        tx_hash: txHash,
        block_number: z.string().regex(/^[0-9]{1,20}$/),
        block_hash: txHash,
        anchor_address: address,
        first_record_id: decimalId,
        last_record_id: decimalId,
        record_count: z.number().int().min(1),
        confirmations_required: z.number().int().min(1),
        confirmed_at: z.string(),
      })
      .strict(),
  })
  .strict();

export type AnchorProofFile = z.infer<typeof anchorProofSchema>;

// Compile-time guard: the file's record is exactly the hashed fields (record-hash.ts) plus id and hash.
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const recordIsHashedFields: SameKeys<keyof AnchorProofFile['record'], AuditHashedField | 'id' | 'hash'> = true;
void recordIsHashedFields;

/** A confirmed batch as the proof file describes it. */
export interface ProofAnchor {
  readonly batchId: number;
  readonly chainId: string;
  readonly txHash: string;
  readonly blockNumber: string;
  readonly blockHash: string;
  readonly anchorAddress: string;
  readonly firstRecordId: string;
  readonly lastRecordId: string;
  readonly recordCount: number;
  readonly confirmationsRequired: number;
  readonly confirmedAt: Date;
  readonly merkleRoot: string;
}

export function buildAnchorProof(row: AuditRecordRow, leafIndex: number, proof: readonly string[], anchor: ProofAnchor): AnchorProofFile {
  const fields = hashedFieldsOf(row);
  return {
    format: PROOF_FORMAT,
    version: PROOF_VERSION,
    record_hash_procedure: RECORD_HASH_PROCEDURE,
    record: {
      id: fields.id,
      account_id: fields.account_id,
      sequence: fields.sequence,
      recorded_at: row.recorded_at.toISOString(),
      event_id: fields.event_id,
      agent_id: fields.agent_id,
      execution_id: fields.execution_id,
      actor: fields.actor,
      action_type: fields.action_type,
      action_category: fields.action_category,
      description: fields.description,
      input_summary: row.input_summary,
      output_summary: row.output_summary,
      permission_state: row.permission_state,
      is_violation: fields.is_violation,
      prev_hash: fields.prev_hash,
      hash: fields.hash,
    },
    merkle: { procedure: MERKLE_PROCEDURE, leaf_index: leafIndex, tree_size: anchor.recordCount, inclusion_proof: [...proof], root: anchor.merkleRoot },
    anchor: {
      calldata_format: CALLDATA_FORMAT,
      batch_id: anchor.batchId,
      chain_id: anchor.chainId,
      tx_hash: anchor.txHash,
      block_number: anchor.blockNumber,
      block_hash: anchor.blockHash,
      anchor_address: anchor.anchorAddress,
      first_record_id: anchor.firstRecordId,
      last_record_id: anchor.lastRecordId,
      record_count: anchor.recordCount,
      confirmations_required: anchor.confirmationsRequired,
      confirmed_at: anchor.confirmedAt.toISOString(),
    },
  };
}

export type ProofFailure =
  | { reason: 'not_a_proof_file'; detail: string }
  | { reason: 'record_hash_mismatch'; detail: string }
  | { reason: `inclusion_${InclusionFailure}`; detail: string }
  | { reason: 'record_outside_batch'; detail: string };

export type OfflineCheck = { valid: true; file: AnchorProofFile } | ({ valid: false } & ProofFailure);

/**
 * Everything that needs no chain: the file's shape, the record hash re-derived from its
 * fields, the inclusion proof against the root, and the record within the batch's range.
 * Never throws; the input is typically someone else's file.
 */
export function checkProofOffline(input: unknown): OfflineCheck {
  const parsed = anchorProofSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { valid: false, reason: 'not_a_proof_file', detail: `${issue.path.join('.') || 'file'}: ${issue.message}` };
  }
  const file = parsed.data;
  const { record, merkle, anchor } = file;
  let derived: string;
  try {
    derived = computeRecordHash(record, record.prev_hash);
  } catch (err) {
    return { valid: false, reason: 'record_hash_mismatch', detail: `the record's fields cannot be hashed: ${(err as Error).message}` };
  }
  if (derived !== record.hash) {
    return { valid: false, reason: 'record_hash_mismatch', detail: `the fields hash to ${derived}, the record says ${record.hash}` };
  }
  if (merkle.tree_size !== anchor.record_count) {
    return { valid: false, reason: 'record_outside_batch', detail: `tree size ${merkle.tree_size} is not the batch's record count ${anchor.record_count}` };
  }
  const id = BigInt(record.id);
  if (id < BigInt(anchor.first_record_id) || id > BigInt(anchor.last_record_id)) {
    return { valid: false, reason: 'record_outside_batch', detail: `record ${record.id} is outside the batch's range ${anchor.first_record_id}..${anchor.last_record_id}` };
  }
  const inclusion = verifyInclusion({ leafData: record.hash, index: merkle.leaf_index, treeSize: merkle.tree_size, proof: merkle.inclusion_proof, root: merkle.root });
  if (!inclusion.valid) {
    return { valid: false, reason: `inclusion_${inclusion.reason}`, detail: `the inclusion proof does not lead from the record hash to the root (${inclusion.reason.replace(/_/g, ' ')})` };
  }
  return { valid: true, file };
}

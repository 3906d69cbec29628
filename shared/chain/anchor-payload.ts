// The calldata of an anchor transaction: what a batch commits to on chain. Fixed layout,
// 60 bytes, readable by hand from any block explorer:
//
//   offset  size  field
//        0     4  magic "TZA1" (0x545a4131): format and version
//        4    32  Merkle root of the batch (RFC 6962, SHA-256)
//       36     8  first record id in the batch (uint64, big-endian)
//       44     8  last record id in the batch (uint64, big-endian)
//       52     8  number of records, the tree size (uint64, big-endian)
//
// The transaction is sent by the anchor key to itself with value 0, so it calls no code.
// Pure functions, no I/O.
import { fromHex, HASH_BYTES, toHex } from '../audit/merkle-tree.ts';

export const ANCHOR_MAGIC_HEX = '545a4131';
export const ANCHOR_PAYLOAD_BYTES = 4 + HASH_BYTES + 3 * 8;

export interface AnchorPayload {
  /** 64 lowercase hex digits, no prefix. */
  readonly merkleRoot: string;
  readonly firstRecordId: bigint;
  readonly lastRecordId: bigint;
  readonly recordCount: bigint;
}

const UINT64_MAX = (1n << 64n) - 1n;

/** 0x-prefixed calldata for `payload`; throws RangeError on values that do not fit. */
export function encodeAnchorPayload(payload: AnchorPayload): string {
  const out = Buffer.alloc(ANCHOR_PAYLOAD_BYTES);
  out.write(ANCHOR_MAGIC_HEX, 0, 'hex');
  fromHex(payload.merkleRoot, HASH_BYTES).copy(out, 4);
  const fields = [payload.firstRecordId, payload.lastRecordId, payload.recordCount];
  fields.forEach((value, i) => {
    if (value < 0n || value > UINT64_MAX) throw new RangeError('anchor payload field does not fit in uint64');
    out.writeBigUInt64BE(value, 4 + HASH_BYTES + 8 * i);
  });
  return `0x${out.toString('hex')}`;
}

/** Decodes calldata; null when it is not exactly an anchor payload of this format. */
export function decodeAnchorPayload(calldata: string): AnchorPayload | null {
  let bytes: Buffer;
  try {
    bytes = fromHex(calldata, ANCHOR_PAYLOAD_BYTES);
  } catch {
    return null;
  }
  if (bytes.subarray(0, 4).toString('hex') !== ANCHOR_MAGIC_HEX) return null;
  return {
    merkleRoot: toHex(bytes.subarray(4, 4 + HASH_BYTES)),
    firstRecordId: bytes.readBigUInt64BE(4 + HASH_BYTES),
    lastRecordId: bytes.readBigUInt64BE(4 + HASH_BYTES + 8),
    recordCount: bytes.readBigUInt64BE(4 + HASH_BYTES + 16),
  };
}

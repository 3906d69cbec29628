// The offline half of a proof file check: the record hash re-derived from the fields, the
// inclusion proof, the record inside the batch. Tampering with any part fails, by name.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AuditRecordRow } from '../../../../shared/audit/audit-record.ts';
import { buildAnchorProof, checkProofOffline, type AnchorProofFile } from '../../../../shared/audit/anchor-proof.ts';
import { MerkleTree, proofToHex } from '../../../../shared/audit/merkle-tree.ts';
import { computeRecordHash, GENESIS_PREV_HASH } from '../../../../shared/audit/record-hash.ts';

function rows(n: number): AuditRecordRow[] {
  const out: AuditRecordRow[] = [];
  let prev = GENESIS_PREV_HASH;
  for (let i = 0; i < n; i++) {
    const row: AuditRecordRow = {
      id: String(100 + i),
      account_id: '7',
      sequence: String(i + 1),
      recorded_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      event_id: randomUUID(),
      agent_id: i % 2 ? '3' : null,
      execution_id: null,
      actor: 'tzk_AbCdEfGh',
      action_type: 'agent_created',
      action_category: 'agent_lifecycle',
      description: `agent ${i} created`,
      input_summary: i % 2 ? '{"name":"x"}' : null,
      output_summary: null,
      permission_state: { scopes: ['data:read'] },
      is_violation: false,
      prev_hash: prev,
      hash: '',
    };
    row.hash = computeRecordHash({ ...row, sequence: i + 1 }, prev);
    prev = row.hash;
    out.push(row);
  }
  return out;
}

describe('anchor proof file, offline checks', () => {
  const records = rows(5);
  const tree = new MerkleTree(records.map((r) => r.hash));
  const fileFor = (index: number): AnchorProofFile =>
    buildAnchorProof(records[index]!, index, proofToHex(tree.inclusionProof(index)), {
      batchId: 1,
      chainId: '31337',
      txHash: `0x${'aa'.repeat(32)}`,
      blockNumber: '12',
      blockHash: `0x${'bb'.repeat(32)}`,
      anchorAddress: `0x${'cc'.repeat(20)}`,
      firstRecordId: '100',
      lastRecordId: '104',
      recordCount: 5,
      confirmationsRequired: 3,
      confirmedAt: new Date(),
      merkleRoot: tree.rootHex,
    });

  it('accepts the file of every record, through a JSON round trip', () => {
    for (let i = 0; i < records.length; i++) {
      const check = checkProofOffline(JSON.parse(JSON.stringify(fileFor(i))));
      assert.equal(check.valid, true, JSON.stringify(check));
    }
  });

  const tampered: [string, (f: any) => void, string][] = [
    ['a field of the record', (f) => (f.record.is_violation = true), 'record_hash_mismatch'],
    ['the permission state', (f) => (f.record.permission_state.scopes.push('network:outbound')), 'record_hash_mismatch'],
    ['the time to another millisecond', (f) => (f.record.recorded_at = f.record.recorded_at.replace('.000Z', '.001Z')), 'record_hash_mismatch'],
    ['a proof element', (f) => (f.merkle.inclusion_proof[0] = '00'.repeat(32)), 'inclusion_root_mismatch'],
    ['the leaf index', (f) => (f.merkle.leaf_index = 2), 'inclusion_root_mismatch'],
    ['a shortened proof', (f) => f.merkle.inclusion_proof.pop(), 'inclusion_proof_too_short'],
    ['the tree size alone', (f) => (f.merkle.tree_size = 4), 'record_outside_batch'],
    ['the record id', (f) => (f.record.id = '99'), 'record_outside_batch'],
    ['the format', (f) => (f.version = 2), 'not_a_proof_file'],
    ['an uppercase hash', (f) => (f.record.hash = f.record.hash.toUpperCase()), 'not_a_proof_file'],
  ];
  for (const [what, tamper, reason] of tampered) {
    it(`fails a file with ${what} changed: ${reason}`, () => {
      const file = structuredClone(fileFor(1));
      tamper(file);
      const check = checkProofOffline(file);
      assert.equal(check.valid, false);
      assert.equal((check as { reason: string }).reason, reason);
    });
  }

  it('never throws on garbage', () => {
    for (const input of [null, 42, 'x', [], {}, { format: 'thetazero-audit-anchor-proof' }]) assert.equal(checkProofOffline(input).valid, false);
  });
});

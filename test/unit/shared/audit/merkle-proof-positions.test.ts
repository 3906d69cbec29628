// inclusionProofPositions must name exactly the nodes MerkleTree#inclusionProof returns, so
// proofs read back node by node from stored levels are the tree's own proofs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { inclusionProofPositions, MerkleTree } from '../../../../shared/audit/merkle-tree.ts';

const leaves = (n: number) => Array.from({ length: n }, (_, i) => createHash('sha256').update(`leaf ${i}`).digest());

describe('inclusionProofPositions and MerkleTree#levelHashes', () => {
  it('locate every proof hash of every leaf for trees of 1 to 300 leaves', () => {
    for (let size = 1; size <= 300; size++) {
      const tree = new MerkleTree(leaves(size));
      const levels = Array.from({ length: tree.levelCount }, (_, l) => tree.levelHashes(l));
      assert.deepEqual(levels.at(-1), tree.root);
      for (let index = 0; index < size; index++) {
        const fromLevels = inclusionProofPositions(index, size).map(({ level, index: i }) => levels[level]!.subarray(32 * i, 32 * i + 32));
        assert.deepEqual(fromLevels, tree.inclusionProof(index), `size ${size}, leaf ${index}`);
      }
    }
  });

  it('refuses a leaf outside the tree', () => {
    assert.throws(() => inclusionProofPositions(3, 3), RangeError);
    assert.throws(() => inclusionProofPositions(-1, 3), RangeError);
    assert.throws(() => new MerkleTree(leaves(3)).levelHashes(5), RangeError);
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  EMPTY_TREE_ROOT_HEX,
  fromHex,
  leafHash,
  MerkleTree,
  nodeHash,
  proofFromHex,
  proofToHex,
  toHex,
  verifyInclusion,
  type InclusionCheck,
} from '../../../../shared/audit/merkle-tree.ts';

// ---- A straightforward recursive RFC 6962 section 2.1 reference, independent of the tree. ----

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** Largest power of two strictly smaller than n (n > 1). */
const splitPoint = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};

/** MTH and PATH over D[lo:hi], memoised per subtree so every size up to 300 stays fast. */
class ReferenceTree {
  readonly #leaves: Buffer[];
  readonly #memo = new Map<string, Buffer>();
  constructor(data: readonly Uint8Array[]) {
    this.#leaves = data.map((d) => sha256(Uint8Array.of(0), d));
  }
  mth(lo = 0, hi = this.#leaves.length): Buffer {
    if (hi - lo === 0) return sha256();
    if (hi - lo === 1) return this.#leaves[lo]!;
    const key = `${lo}:${hi}`;
    let h = this.#memo.get(key);
    if (!h) {
      const k = splitPoint(hi - lo);
      h = sha256(Uint8Array.of(1), this.mth(lo, lo + k), this.mth(lo + k, hi));
      this.#memo.set(key, h);
    }
    return h;
  }
  path(m: number, lo = 0, hi = this.#leaves.length): Buffer[] {
    if (hi - lo === 1) return [];
    const k = splitPoint(hi - lo);
    return m < k ? [...this.path(m, lo, lo + k), this.mth(lo + k, hi)] : [...this.path(m - k, lo + k, hi), this.mth(lo, lo + k)];
  }
}

/** 300 distinct 32-byte "record hashes". */
const RECORD_HASHES = Array.from({ length: 300 }, (_, i) => sha256(Buffer.from(`record ${i}`)));

const flipBit = (b: Uint8Array, byte = 0, bit = 3): Buffer => {
  const copy = Buffer.from(b);
  copy[byte]! ^= 1 << bit;
  return copy;
};

const failure = (check: InclusionCheck): string => (check.valid ? 'valid' : check.reason);

// ---- Certificate Transparency test data (transparency-dev/merkle proof/verify_test.go). ----

const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const CT_ROOTS = [
  EMPTY_TREE_ROOT_HEX,
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
// Zero-based leaf index (the Go file counts from one), tree size, audit path.
const CT_PROOFS: [number, number, string[]][] = [
  [
    0,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    5,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [
    1,
    5,
    [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];

describe('MerkleTree', () => {
  it('gives the RFC 6962 empty-tree root: SHA-256 of the empty string', () => {
    const tree = new MerkleTree([]);
    assert.equal(tree.size, 0);
    assert.equal(tree.rootHex, sha256().toString('hex'));
    assert.equal(tree.rootHex, EMPTY_TREE_ROOT_HEX);
    assert.throws(() => tree.inclusionProof(0), RangeError);
  });

  it('matches the Certificate Transparency roots for every size 0..8', () => {
    for (let n = 0; n <= CT_LEAVES.length; n++) {
      assert.equal(new MerkleTree(CT_LEAVES.slice(0, n)).rootHex, CT_ROOTS[n], `size ${n}`);
    }
  });

  it('produces and verifies the Certificate Transparency inclusion proofs', () => {
    for (const [index, size, path] of CT_PROOFS) {
      const tree = new MerkleTree(CT_LEAVES.slice(0, size));
      assert.deepEqual(proofToHex(tree.inclusionProof(index)), path, `leaf ${index} of ${size}`);
      const check = verifyInclusion({ leafData: CT_LEAVES[index]!, index, treeSize: size, proof: path, root: CT_ROOTS[size]! });
      assert.deepEqual(check, { valid: true });
    }
  });

  it('hashes leaves with 0x00 and nodes with 0x01, never both the same way', () => {
    const a = RECORD_HASHES[0]!;
    const b = RECORD_HASHES[1]!;
    assert.deepEqual(leafHash(a), sha256(Uint8Array.of(0), a));
    assert.deepEqual(nodeHash(leafHash(a), leafHash(b)), sha256(Uint8Array.of(1), leafHash(a), leafHash(b)));
    assert.deepEqual(new MerkleTree([a, b]).root, nodeHash(leafHash(a), leafHash(b)));
  });

  it('does not duplicate an odd last leaf: three leaves are H(H(a,b), c), not H(H(a,b), H(c,c))', () => {
    const [a, b, c] = RECORD_HASHES.map(leafHash) as [Buffer, Buffer, Buffer];
    const tree = new MerkleTree(RECORD_HASHES.slice(0, 3));
    assert.deepEqual(tree.root, nodeHash(nodeHash(a, b), c));
    assert.notDeepEqual(tree.root, nodeHash(nodeHash(a, b), nodeHash(c, c)));
  });

  it('builds the same root as the recursive RFC 6962 definition for every size 1..300', () => {
    for (let n = 1; n <= RECORD_HASHES.length; n++) {
      const leaves = RECORD_HASHES.slice(0, n);
      assert.deepEqual(new MerkleTree(leaves).root, new ReferenceTree(leaves).mth(), `size ${n}`);
    }
  });

  it('gives, for every leaf of every size 1..300, the reference audit path, which verifies', () => {
    for (let n = 1; n <= RECORD_HASHES.length; n++) {
      const leaves = RECORD_HASHES.slice(0, n);
      const tree = new MerkleTree(leaves);
      const reference = new ReferenceTree(leaves);
      const root = tree.root;
      for (let i = 0; i < n; i++) {
        const proof = tree.inclusionProof(i);
        assert.deepEqual(proof, reference.path(i), `leaf ${i} of ${n}`);
        const check = verifyInclusion({ leafData: leaves[i]!, index: i, treeSize: n, proof, root });
        assert.equal(failure(check), 'valid', `leaf ${i} of ${n}`);
      }
    }
  });

  it('rejects, for every leaf of every size 1..300, a tampered leaf, proof, index, size or length', () => {
    const wrong: string[] = [];
    for (let n = 1; n <= RECORD_HASHES.length; n++) {
      const leaves = RECORD_HASHES.slice(0, n);
      const tree = new MerkleTree(leaves);
      const root = tree.root;
      for (let i = 0; i < n; i++) {
        const leafData = leaves[i]!;
        const proof = tree.inclusionProof(i);
        const claim = { leafData, index: i, treeSize: n, proof, root };
        const expectFail = (what: string, check: InclusionCheck): void => {
          if (check.valid) wrong.push(`${what} verified for leaf ${i} of ${n}`);
        };
        expectFail('flipped leaf bit', verifyInclusion({ ...claim, leafData: flipBit(leafData, i % 32, i % 8) }));
        expectFail('other leaf', verifyInclusion({ ...claim, leafData: leaves[(i + 1) % n]! === leafData ? flipBit(leafData) : leaves[(i + 1) % n]! }));
        expectFail('flipped root bit', verifyInclusion({ ...claim, root: flipBit(root, 31, 0) }));
        for (let p = 0; p < proof.length; p++) {
          const tampered = proof.map((h, j) => (j === p ? flipBit(h) : h));
          expectFail(`flipped proof[${p}]`, verifyInclusion({ ...claim, proof: tampered }));
        }
        for (const index of [i - 1, i + 1, i ^ 2]) {
          if (index >= 0 && index < n && index !== i) expectFail(`index ${index}`, verifyInclusion({ ...claim, index }));
        }
        expectFail('size * 2', verifyInclusion({ ...claim, treeSize: n * 2 }));
        expectFail('size / 2', verifyInclusion({ ...claim, treeSize: Math.floor(n / 2) }));
        if (proof.length > 0) expectFail('truncated', verifyInclusion({ ...claim, proof: proof.slice(0, -1) }));
        if (proof.length > 0) expectFail('first dropped', verifyInclusion({ ...claim, proof: proof.slice(1) }));
        expectFail('extended with root', verifyInclusion({ ...claim, proof: [...proof, root] }));
        expectFail('prefixed with root', verifyInclusion({ ...claim, proof: [root, ...proof] }));
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('names why a proof fails', () => {
    const leaves = RECORD_HASHES.slice(0, 5);
    const tree = new MerkleTree(leaves);
    const claim = { leafData: leaves[1]!, index: 1, treeSize: 5, proof: tree.inclusionProof(1), root: tree.root };
    assert.equal(failure(verifyInclusion(claim)), 'valid');
    assert.equal(failure(verifyInclusion({ ...claim, index: 5 })), 'index_out_of_range');
    assert.equal(failure(verifyInclusion({ ...claim, treeSize: 0 })), 'index_out_of_range');
    assert.equal(failure(verifyInclusion({ ...claim, proof: claim.proof.slice(0, 2) })), 'proof_too_short');
    assert.equal(failure(verifyInclusion({ ...claim, proof: [...claim.proof, tree.root] })), 'proof_too_long');
    assert.equal(failure(verifyInclusion({ ...claim, leafData: leaves[2]! })), 'root_mismatch');
    assert.equal(failure(verifyInclusion({ ...claim, index: -1 })), 'malformed');
    assert.equal(failure(verifyInclusion({ ...claim, index: 1.5 })), 'malformed');
    assert.equal(failure(verifyInclusion({ ...claim, treeSize: Number.MAX_SAFE_INTEGER + 1 })), 'malformed');
    assert.equal(failure(verifyInclusion({ ...claim, root: 'zz' })), 'malformed');
    assert.equal(failure(verifyInclusion({ ...claim, root: claim.root.subarray(0, 31) })), 'malformed');
    assert.equal(failure(verifyInclusion({ ...claim, proof: [claim.proof[0]!.subarray(0, 31)] })), 'malformed');
    const both = { ...claim, leafHash: tree.leafHashAt(1) } as unknown as Parameters<typeof verifyInclusion>[0];
    assert.equal(failure(verifyInclusion(both)), 'malformed');
  });

  it('accepts the leaf hash instead of the leaf data, and hex (with or without 0x) everywhere', () => {
    const leaves = RECORD_HASHES.slice(0, 7).map(toHex);
    const tree = new MerkleTree(leaves);
    const proof = proofToHex(tree.inclusionProof(6));
    assert.ok(proof.every((h) => /^[0-9a-f]{64}$/.test(h)));
    const check = verifyInclusion({ leafHash: toHex(tree.leafHashAt(6)), index: 6, treeSize: 7, proof, root: `0x${tree.rootHex}` });
    assert.deepEqual(check, { valid: true });
    assert.deepEqual(proofFromHex(proof), tree.inclusionProof(6));
    assert.deepEqual(new MerkleTree(leaves.map((h) => h.toUpperCase())).root, tree.root);
  });

  it('refuses malformed hex leaves and proof files with a TypeError', () => {
    assert.throws(() => new MerkleTree(['z'.repeat(64)]), TypeError);
    assert.throws(() => new MerkleTree(['abc']), TypeError);
    assert.throws(() => proofFromHex(['00'.repeat(31)]), /expected 32 bytes/);
    assert.throws(() => proofFromHex('00' as unknown as string[]), /array of hex strings/);
    assert.throws(() => fromHex('0g'), /not a hex string/);
    assert.throws(() => fromHex(42 as unknown as string), /not a hex string/);
  });

  it('hands out copies, so a caller cannot alter the tree through a root or proof', () => {
    const tree = new MerkleTree(RECORD_HASHES.slice(0, 4));
    const before = tree.rootHex;
    tree.root.fill(0);
    tree.inclusionProof(0)[0]!.fill(0);
    tree.leafHashAt(1).fill(0);
    assert.equal(tree.rootHex, before);
    assert.deepEqual(tree.inclusionProof(0), new ReferenceTree(RECORD_HASHES.slice(0, 4)).path(0));
  });

  it('rejects out-of-range proof requests', () => {
    const tree = new MerkleTree(RECORD_HASHES.slice(0, 3));
    for (const index of [-1, 3, 1.5, Number.NaN]) assert.throws(() => tree.inclusionProof(index), RangeError);
  });

  it('does not authenticate the tree size on its own: the size must come from the anchor', () => {
    // RFC 9162 binds the size in the signed tree head; a bare root does not. Leaf 0 of 3 and of
    // 4 have audit paths of the same shape, so a proof for one checks out under the other size.
    // The anchorer therefore anchors the count with the root, and verifiers take it from there.
    const tree = new MerkleTree(RECORD_HASHES.slice(0, 3));
    const claim = { leafData: RECORD_HASHES[0]!, index: 0, proof: tree.inclusionProof(0), root: tree.root };
    assert.deepEqual(verifyInclusion({ ...claim, treeSize: 3 }), { valid: true });
    assert.deepEqual(verifyInclusion({ ...claim, treeSize: 4 }), { valid: true });
  });
});

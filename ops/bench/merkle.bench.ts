// Merkle anchoring capacity: the root over a million record hashes with MerkleTree, next to
// the same tree built with one node:crypto createHash call per node, and the cost of checking
// one inclusion proof as an auditor would, from a hex proof file.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setTimeout as sleep } from 'node:timers/promises';
import { MerkleTree, proofToHex, verifyInclusion } from '../../shared/audit/merkle-tree.ts';
import { percentile, round, type Benchmark, type BenchRow } from './benchmark.ts';

const LEAVES = 1_000_000;
const ROUNDS = 3;
const VERIFICATIONS = 20_000;
const ROOT_GOAL_S = 2;
const VERIFY_GOAL_US = 100;

/**
 * The reference: RFC 6962 shape level by level, a fresh createHash for every leaf and node.
 * Each digest is copied into one Buffer per level, so the digest Buffers die young and their
 * cost is paid inside the reference's own timing rather than by whatever is timed next.
 */
function referenceRoot(leaves: readonly Buffer[]): Buffer {
  const leafPrefix = Buffer.from([0x00]);
  const nodePrefix = Buffer.from([0x01]);
  let size = leaves.length;
  let level = Buffer.allocUnsafeSlow(32 * size);
  for (let i = 0; i < size; i++) {
    createHash('sha256').update(leafPrefix).update(leaves[i]!).digest().copy(level, 32 * i);
  }
  while (size > 1) {
    const nextSize = Math.ceil(size / 2);
    const next = Buffer.allocUnsafeSlow(32 * nextSize);
    for (let j = 0; 2 * j + 1 < size; j++) {
      createHash('sha256')
        .update(nodePrefix)
        .update(level.subarray(64 * j, 64 * j + 32))
        .update(level.subarray(64 * j + 32, 64 * j + 64))
        .digest()
        .copy(next, 32 * j);
    }
    if (size % 2 === 1) level.copy(next, 32 * (nextSize - 1), 32 * (size - 1), 32 * size);
    level = next;
    size = nextSize;
  }
  return Buffer.from(level.subarray(0, 32));
}

/**
 * Garbage from one timed section (a million-leaf tree, a million hex strings) must not be
 * swept on the next one's clock: without this, a build after the reference measured twice its
 * real time. The bench runs without --expose-gc, so it is switched on through the V8 flag API;
 * the pause lets V8's background sweeper finish freeing the backing stores.
 */
function makeSettle(): () => Promise<void> {
  setFlagsFromString('--expose-gc');
  const collectGarbage = runInNewContext('gc') as () => void;
  return async () => {
    collectGarbage();
    await sleep(250);
  };
}

function seconds<T>(fn: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const result = fn();
  return [result, Number(process.hrtime.bigint() - start) / 1e9];
}

const median = (samples: readonly number[]): number => percentile(samples, 50);

const merkle: Benchmark = {
  name: 'merkle',
  description: `Merkle root over ${LEAVES.toLocaleString('en')} record hashes vs one createHash per node; one inclusion proof check`,
  async run(): Promise<BenchRow[]> {
    const settle = makeSettle();
    const packed = randomBytes(32 * LEAVES);
    const leaves = Array.from({ length: LEAVES }, (_, i) => packed.subarray(32 * i, 32 * i + 32));
    const hexLeaves = leaves.map((leaf) => leaf.toString('hex'));

    // Warm both paths up on a small tree so the first timed round is not paying for the JIT.
    new MerkleTree(leaves.slice(0, 10_000));
    referenceRoot(leaves.slice(0, 10_000));

    // Interleave the builds so that a noisy moment on the machine hits all of them alike.
    const ours: number[] = [];
    const fromHex: number[] = [];
    const reference: number[] = [];
    let tree: MerkleTree | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      await settle();
      const [built, s] = seconds(() => new MerkleTree(leaves));
      ours.push(s);
      tree = built;
      await settle();
      const [fromHexTree, sHex] = seconds(() => new MerkleTree(hexLeaves));
      fromHex.push(sHex);
      await settle();
      const [refRoot, sRef] = seconds(() => referenceRoot(leaves));
      reference.push(sRef);
      if (!refRoot.equals(built.root) || !fromHexTree.root.equals(built.root)) {
        throw new Error('MerkleTree and the createHash reference disagree on the root');
      }
    }
    const root = tree!;

    // Proof checks as an auditor runs them: from hex, on random leaves, each timed on its own.
    const rootHex = root.rootHex;
    const claims = Array.from({ length: 256 }, () => {
      const index = randomInt(LEAVES);
      return { leafData: hexLeaves[index]!, index, treeSize: LEAVES, proof: proofToHex(root.inclusionProof(index)), root: rootHex };
    });
    const verifyUs: number[] = [];
    const proofUs: number[] = [];
    for (let i = 0; i < VERIFICATIONS; i++) {
      const claim = claims[i % claims.length]!;
      const start = process.hrtime.bigint();
      const check = verifyInclusion(claim);
      verifyUs.push(Number(process.hrtime.bigint() - start) / 1e3);
      if (!check.valid) throw new Error(`a valid proof failed to verify: ${check.reason}`);
      const startProof = process.hrtime.bigint();
      root.inclusionProof(claim.index);
      proofUs.push(Number(process.hrtime.bigint() - startProof) / 1e3);
    }

    const oursS = median(ours);
    const refS = median(reference);
    const verifyMedian = median(verifyUs);
    const proofLength = claims[0]!.proof.length;
    return [
      {
        name: `Merkle root, ${LEAVES.toLocaleString('en')} leaves (MerkleTree, Buffers)`,
        value: round(oursS, 3),
        unit: 's',
        reference: `one createHash per node: ${round(refS, 3)} s (${round(refS / oursS, 1)}x slower)`,
        goal: `<= ${ROOT_GOAL_S} s`,
        met: oursS <= ROOT_GOAL_S,
      },
      {
        name: `Merkle root, ${LEAVES.toLocaleString('en')} leaves (MerkleTree, hex strings)`,
        value: round(median(fromHex), 3),
        unit: 's',
        reference: 'same tree from 64-char hex strings, as a text column returns them',
        goal: '-',
        met: null,
      },
      {
        name: `Merkle root, ${LEAVES.toLocaleString('en')} leaves (one createHash per node)`,
        value: round(refS, 3),
        unit: 's',
        reference: `median of ${ROUNDS}, same root as MerkleTree`,
        goal: '-',
        met: null,
      },
      {
        name: `inclusion proof verification (${proofLength} hashes, hex), median`,
        value: round(verifyMedian, 2),
        unit: 'µs',
        reference: `p99 ${round(percentile(verifyUs, 99), 2)} µs over ${VERIFICATIONS.toLocaleString('en')} checks`,
        goal: `<= ${VERIFY_GOAL_US} µs`,
        met: verifyMedian <= VERIFY_GOAL_US,
      },
      {
        name: 'inclusion proof generation from the kept tree, median',
        value: round(median(proofUs), 2),
        unit: 'µs',
        reference: `p99 ${round(percentile(proofUs, 99), 2)} µs`,
        goal: '-',
        met: null,
      },
    ];
  },
};

export default merkle;

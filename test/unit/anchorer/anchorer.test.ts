// The anchorer against a real PostgreSQL, Redis and a local anvil, in-process: batches hold
// every record exactly once however records commit, a crash at any step resumes without a
// second transaction or batch, stuck and displaced transactions are handled, an unreachable
// chain only makes records wait, and two anchorers never both anchor.
import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import type { Redis } from 'ioredis';
import { auditEvent } from '../../../shared/audit/audit-event.ts';
import { MerkleTree, verifyInclusion } from '../../../shared/audit/merkle-tree.ts';
import { decodeAnchorPayload } from '../../../shared/chain/anchor-payload.ts';
import { parseAnchorerStatus } from '../../../shared/chain/anchorer-status.ts';
import { EvmChain } from '../../../shared/chain/evm-chain.ts';
import { JsonRpcClient } from '../../../shared/chain/json-rpc-client.ts';
import { AnchorStore } from '../../../shared/db/stores/anchor-store.ts';
import { connectRedis } from '../../../shared/redis/connection.ts';
import { redisKeys } from '../../../shared/redis/keys.ts';
import { Secret } from '../../../shared/secret.ts';
import { writeChainBatch } from '../../../scheduler/recorder/chain-writer.ts';
import { AnchorBatches } from '../../../anchorer/anchor-batches.ts';
import { AnchorSigner } from '../../../anchorer/anchor-signer.ts';
import { Anchorer, type AnchorerOptions } from '../../../anchorer/anchorer.ts';
import { encodeAnchorPayload } from '../../../shared/chain/anchor-payload.ts';
import { freePort } from '../../helpers/free-port.ts';
import { silentLogger } from '../../helpers/sandbox-harness.ts';
import { DEV_KEYS, startTestChain, type TestChain } from '../../helpers/test-chain.ts';
import { TEST_REDIS_URL, testRedisPrefix, deleteRedisPrefix } from '../../helpers/test-redis.ts';
import { TestSystem, type TestAccount } from '../../helpers/test-system.ts';
import { waitFor } from '../../helpers/wait-for.ts';

const FAST: AnchorerOptions = {
  intervalMs: 200,
  batchSize: 1000,
  confirmations: 1,
  leaseMs: 1500,
  pollMs: 50,
  replaceAfterMs: 600_000,
  maxFeePerGasWei: 500_000_000_000n,
};

describe('Anchorer (real PostgreSQL, Redis and anvil)', function () {
  this.timeout(90_000);
  let system: TestSystem;
  let alice: TestAccount;
  let bob: TestAccount;
  let redis: Redis;
  let running: Anchorer[] = [];
  let chains: TestChain[] = [];
  let prefix: string;

  before(async () => {
    system = await TestSystem.create('anchorer');
    alice = await system.createAccount('alice');
    bob = await system.createAccount('bob');
    redis = connectRedis(TEST_REDIS_URL, 'anchorer-test');
  });
  after(async () => {
    redis?.disconnect();
    await system?.stop();
  });
  beforeEach(async () => {
    // Each test: its own lease and status keys, a drained queue and no pending batch.
    prefix = testRedisPrefix('anchorer');
    await system.db.query(`DELETE FROM anchor_queue`);
  });
  afterEach(async () => {
    await Promise.all(running.map((a) => a.close()));
    await Promise.all(chains.map((c) => c.stop()));
    running = [];
    chains = [];
    await deleteRedisPrefix(prefix);
  });

  async function chain(options: Parameters<typeof startTestChain>[0] = {}): Promise<TestChain> {
    const c = await startTestChain(options);
    chains.push(c);
    return c;
  }

  /** Each test has a fresh chain, so the anchor key's nonces start at 0. */
  function signer(): AnchorSigner {
    return new AnchorSigner(new Secret(DEV_KEYS[0]));
  }

  async function anchorer(url: string, options: Partial<AnchorerOptions> = {}, key = signer()): Promise<Anchorer> {
    const a = new Anchorer({
      db: system.db,
      redis,
      keys: redisKeys(prefix),
      chain: new EvmChain(new JsonRpcClient(url, 2000)),
      signer: key,
      log: silentLogger(),
      options: { ...FAST, ...options },
    });
    await a.start();
    running.push(a);
    return a;
  }

  async function record(n: number, account = alice): Promise<number[]> {
    const events = Array.from({ length: n }, (_, i) => auditEvent({ accountId: account.id, actor: 'node:unit', actionType: 'api_call', description: `e${i}` }));
    const outcome = await system.db.transaction((tx) => writeChainBatch(tx, events, new Date()));
    return outcome.records.map((r) => r.id);
  }

  async function batchesSince(id: number) {
    return (await system.db.query(`SELECT * FROM anchor_batches WHERE id > $1 ORDER BY id`, [id])) as {
      id: string;
      status: string;
      merkle_root: string;
      first_record_id: string;
      last_record_id: string;
      record_count: number;
      tx_hash: string | null;
      nonce: string | null;
    }[];
  }

  async function lastBatchId(): Promise<number> {
    const [row] = await system.db.query(`SELECT coalesce(max(id), 0)::int AS id FROM anchor_batches`);
    return row.id;
  }

  async function untilAnchored(ids: number[]): Promise<void> {
    await waitFor(
      async () => (await new AnchorStore(system.db).countAnchored(ids)) as number,
      (n) => n === ids.length,
      { what: `${ids.length} records anchored`, timeoutMs: 30_000 },
    );
  }

  /** Every record anchored so far is in exactly one batch, at one leaf, and nothing waits twice. */
  async function assertEachRecordOnce(): Promise<void> {
    const [row] = await system.db.query(`
      SELECT (SELECT count(*) FROM audit_records)::int AS records,
             (SELECT count(*) FROM anchor_leaves)::int AS leaves,
             (SELECT count(DISTINCT record_id) FROM anchor_leaves)::int AS distinct_leaves,
             (SELECT count(*) FROM anchor_queue q JOIN anchor_leaves l USING (record_id))::int AS both`);
    assert.equal(row.leaves, row.distinct_leaves);
    assert.equal(row.both, 0);
  }

  it('anchors waiting records in one self-sent transaction whose calldata is the root, id range and count', async () => {
    const c = await chain();
    const since = await lastBatchId();
    const ids = [...(await record(5, alice)), ...(await record(3, bob))];
    await anchorer(c.url);
    await untilAnchored(ids);
    const [batch, ...more] = await batchesSince(since);
    assert.equal(more.length, 0);
    assert.equal(batch!.status, 'confirmed');
    assert.equal(batch!.record_count, 8);
    // Leaves in record id order; the root is the RFC 6962 root over the record hashes.
    const rows = await system.db.query(
      `SELECT r.id::int AS id, r.hash, l.leaf_index FROM anchor_leaves l JOIN audit_records r ON r.id = l.record_id WHERE l.batch_id = $1 ORDER BY l.leaf_index`,
      [batch!.id],
    );
    assert.deepEqual(rows.map((r: { id: number }) => r.id), [...ids].sort((a, b) => a - b));
    const tree = new MerkleTree(rows.map((r: { hash: string }) => r.hash));
    assert.equal(batch!.merkle_root, tree.rootHex);
    // On chain: self-sent by the anchor key, calldata decodes to the batch.
    const tx = (await c.chain.transaction(batch!.tx_hash!))!;
    assert.equal(tx.from, signer().address);
    assert.equal(tx.to, tx.from);
    assert.deepEqual(decodeAnchorPayload(tx.input), {
      merkleRoot: tree.rootHex,
      firstRecordId: BigInt(Math.min(...ids)),
      lastRecordId: BigInt(Math.max(...ids)),
      recordCount: 8n,
    });
    // Proofs read back from the stored tree verify, for every leaf.
    const store = new AnchorStore(system.db);
    for (const [index, r] of rows.entries()) {
      const { proof, leafHash } = await store.inclusionProof(Number(batch!.id), index, 8);
      assert.equal(leafHash, tree.leafHashAt(index).toString('hex'));
      assert.deepEqual(verifyInclusion({ leafData: r.hash, index, treeSize: 8, proof, root: tree.rootHex }), { valid: true });
    }
    const accounts = await system.db.query(`SELECT account_id::int AS account, record_count FROM anchor_batch_accounts WHERE batch_id = $1 ORDER BY account_id`, [batch!.id]);
    assert.deepEqual(accounts, [{ account: alice.id, record_count: 5 }, { account: bob.id, record_count: 3 }]);
    await assertEachRecordOnce();
  });

  it('takes at most ANCHOR_BATCH_SIZE records per batch and goes on with the rest without waiting an interval', async () => {
    const c = await chain();
    const since = await lastBatchId();
    const ids = await record(25);
    await anchorer(c.url, { batchSize: 10, intervalMs: 60_000 });
    await untilAnchored(ids);
    const batches = await batchesSince(since);
    assert.deepEqual(batches.map((b) => b.record_count), [10, 10, 5]);
    // Consecutive ranges: lowest ids first.
    assert.ok(BigInt(batches[0]!.last_record_id) < BigInt(batches[1]!.first_record_id));
    await assertEachRecordOnce();
  });

  it('anchors a record whose lower id commits after a higher one: no gap', async () => {
    const c = await chain();
    // Alice's insert takes its id first but commits last (different accounts do not serialise).
    const slow = system.db.createQueryRunner();
    await slow.connect();
    await slow.startTransaction();
    const events = [auditEvent({ accountId: alice.id, actor: 'node:unit', actionType: 'api_call', description: 'slow' })];
    const slowIds = (await writeChainBatch(slow.manager, events, new Date())).records.map((r) => r.id);
    const fastIds = await record(1, bob);
    assert.ok(slowIds[0]! < fastIds[0]!);
    await anchorer(c.url);
    await untilAnchored(fastIds);
    assert.equal(await new AnchorStore(system.db).countAnchored(slowIds), 0);
    await slow.commitTransaction();
    await slow.release();
    await untilAnchored(slowIds);
    await assertEachRecordOnce();
  });

  it('resumes a batch whose signed transaction was stored but never broadcast, with that very transaction', async () => {
    const c = await chain();
    const key = signer();
    const ids = await record(4);
    const batches = new AnchorBatches(system.db);
    const planned = (await batches.plan({ maxRecords: 100, chainId: await c.chain.chainId(), anchorAddress: key.address, confirmations: 1 }))!;
    const data = encodeAnchorPayload({ merkleRoot: planned.merkleRoot, firstRecordId: planned.firstRecordId, lastRecordId: planned.lastRecordId, recordCount: BigInt(planned.recordCount) });
    const fees = await c.chain.feeQuote(FAST.maxFeePerGasWei);
    let storedHash = '';
    await batches.addAttempt(planned, async () => {
      const signed = await key.sign({ chainId: planned.chainId, nonce: await c.chain.transactionCount(key.address, 'pending'), gasLimit: 100_000n, fees, data });
      storedHash = signed.hash;
      return { txHash: signed.hash, nonce: 0n, raw: signed.raw, fees };
    });
    assert.equal(await c.chain.transaction(storedHash), null, 'the crash came before the broadcast');
    await anchorer(c.url, {}, key);
    await untilAnchored(ids);
    const [batch] = await system.db.query(`SELECT tx_hash, status FROM anchor_batches WHERE id = $1`, [planned.id]);
    assert.deepEqual(batch, { tx_hash: storedHash, status: 'confirmed' });
    const [attempts] = await system.db.query(`SELECT count(*)::int AS n FROM anchor_transactions WHERE batch_id = $1`, [planned.id]);
    assert.equal(attempts.n, 1);
    assert.equal(await c.chain.transactionCount(key.address, 'latest'), 1n);
  });

  it('replaces a transaction that is not mined in time with higher fees, and only one of them is mined', async () => {
    const c = await chain({ noMining: true });
    const key = signer();
    const since = await lastBatchId();
    const ids = await record(2);
    await anchorer(c.url, { replaceAfterMs: 1000 }, key);
    const [pending] = await waitFor(() => batchesSince(since), (b) => b.length === 1, { what: 'a batch planned' });
    const twice = await waitFor(
      () => system.db.query(`SELECT tx_hash, nonce::int AS nonce, fees FROM anchor_transactions WHERE batch_id = $1 ORDER BY created_at`, [pending!.id]),
      (rows) => rows.length >= 2,
      { what: 'a replacement transaction', timeoutMs: 20_000 },
    );
    assert.equal(twice[0].nonce, twice[1].nonce, 'a replacement keeps the nonce');
    assert.ok(BigInt(twice[1].fees.maxFeePerGas) > BigInt(twice[0].fees.maxFeePerGas));
    await c.mine(1);
    await untilAnchored(ids);
    const [confirmed] = await batchesSince(since);
    assert.ok(twice.some((t: { tx_hash: string }) => t.tx_hash === confirmed!.tx_hash));
    assert.equal(await c.chain.transactionCount(key.address, 'latest'), 1n, 'exactly one transaction was mined');
  });

  it('signs the batch again with a new nonce when another transaction used its nonce', async () => {
    const c = await chain();
    const key = signer();
    const ids = await record(3);
    const batches = new AnchorBatches(system.db);
    const planned = (await batches.plan({ maxRecords: 100, chainId: await c.chain.chainId(), anchorAddress: key.address, confirmations: 1 }))!;
    const fees = await c.chain.feeQuote(FAST.maxFeePerGasWei);
    const data = encodeAnchorPayload({ merkleRoot: planned.merkleRoot, firstRecordId: planned.firstRecordId, lastRecordId: planned.lastRecordId, recordCount: BigInt(planned.recordCount) });
    await batches.addAttempt(planned, async () => {
      const signed = await key.sign({ chainId: planned.chainId, nonce: 0n, gasLimit: 100_000n, fees, data });
      return { txHash: signed.hash, nonce: 0n, raw: signed.raw, fees };
    });
    // The operator used the key for something else meanwhile: nonce 0 is gone.
    const other = await new Wallet(DEV_KEYS[0]).signTransaction({ chainId: planned.chainId, nonce: 0, to: key.address, value: 1n, gasLimit: 21_000n, maxFeePerGas: fees.type === 2 ? fees.maxFeePerGas : 0n, maxPriorityFeePerGas: fees.type === 2 ? fees.maxPriorityFeePerGas : 0n, type: 2 });
    await c.chain.sendRawTransaction(other);
    await anchorer(c.url, {}, key);
    await untilAnchored(ids);
    const [batch] = await system.db.query(`SELECT nonce::int AS nonce FROM anchor_batches WHERE id = $1`, [planned.id]);
    assert.equal(batch.nonce, 1);
  });

  it('lets records wait while the chain is unreachable, reports it in its status, and anchors once the chain is back', async () => {
    const port = await freePort();
    const since = await lastBatchId();
    const ids = await record(3);
    await anchorer(`http://127.0.0.1:${port}`);
    const status = await waitFor(
      async () => parseAnchorerStatus(await redis.get(redisKeys(prefix).anchorerStatus)),
      (s) => s !== null && s.chain_errors_total >= 2,
      { what: 'chain errors counted', timeoutMs: 20_000 },
    );
    assert.equal(status!.chain_reachable, false);
    assert.match(status!.last_error!, /unreachable/);
    assert.equal((await batchesSince(since)).length, 0, 'nothing is planned while the chain is down');
    assert.equal(await new AnchorStore(system.db).waitingCount(alice.id), 3);
    await chain({ port });
    await untilAnchored(ids);
    const after = await waitFor(
      async () => parseAnchorerStatus(await redis.get(redisKeys(prefix).anchorerStatus)),
      (s) => s?.chain_reachable === true && s.consecutive_failures === 0,
      { what: 'status recovered' },
    );
    assert.ok(after!.chain_errors_total >= 2, 'the counter keeps its history');
  });

  it('two anchorers: only the lease holder anchors, and every batch has one transaction', async () => {
    const c = await chain();
    const since = await lastBatchId();
    await anchorer(c.url);
    await anchorer(c.url);
    const ids: number[] = [];
    for (let round = 0; round < 4; round++) {
      ids.push(...(await record(5)));
      await new Promise((r) => setTimeout(r, 150));
    }
    await untilAnchored(ids);
    const batches = await batchesSince(since);
    const [attempts] = await system.db.query(`SELECT count(*)::int AS n, count(DISTINCT batch_id)::int AS b FROM anchor_transactions WHERE batch_id > $1`, [since]);
    assert.equal(attempts.n, batches.length);
    assert.equal(attempts.b, batches.length);
    assert.equal(await c.chain.transactionCount(signer().address, 'latest'), BigInt(batches.length));
    await assertEachRecordOnce();
  });

  it('lets only one of two concurrent planners create a batch; the other changes nothing', async () => {
    await record(6);
    const since = await lastBatchId();
    const batches = new AnchorBatches(system.db);
    const options = { maxRecords: 100, chainId: 31337n, anchorAddress: signer().address, confirmations: 1 };
    const results = await Promise.all([batches.plan(options), batches.plan(options)]);
    assert.equal(results.filter((r) => r !== null).length, 1);
    const planned = await batchesSince(since);
    assert.equal(planned.length, 1);
    assert.equal(planned[0]!.record_count, 6);
    await assertEachRecordOnce();
    // Finish it so later tests start without a pending batch.
    const c = await chain();
    await anchorer(c.url);
    await waitFor(() => batchesSince(since), (b) => b[0]?.status === 'confirmed', { what: 'the batch confirmed' });
  });

  it('refuses to change a confirmed batch or its leaves, even for the table owner', async () => {
    await assert.rejects(system.db.query(`UPDATE anchor_batches SET merkle_root = repeat('0', 64) WHERE status = 'confirmed'`), /append-only/);
    await assert.rejects(system.db.query(`DELETE FROM anchor_leaves`), /append-only/);
    await assert.rejects(system.db.query(`DELETE FROM anchor_tree_levels`), /append-only/);
  });
});

// Anchoring end to end with real processes (api, scheduler with the recorder, anchorers) and
// a local anvil: a record written through the API ends up in a confirmed batch, the verify
// endpoint reports its anchor, its proof file checks out with `tz audit verify-proof` and
// only the chain, and a tampered file does not. The anchorer survives the chain being down
// and being killed between broadcast and confirmation.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { redisKeys } from '../../shared/redis/keys.ts';
import type { HttpClient } from '../helpers/http-client.ts';
import { freePort } from '../helpers/free-port.ts';
import { runTz, type RunningProcess } from '../helpers/processes.ts';
import { DEV_KEYS, startTestChain, type TestChain } from '../helpers/test-chain.ts';
import { TEST_REDIS_URL } from '../helpers/test-redis.ts';
import { TestSystem, type TestAccount } from '../helpers/test-system.ts';
import { waitFor } from '../helpers/wait-for.ts';

const AUDIT = '/api/v1/sdk/audit';
const ANCHOR_ADDRESS = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266';

function anchorerEnv(chainUrl: string): Record<string, string> {
  return {
    CHAIN_RPC_URL: chainUrl,
    ANCHOR_PRIVATE_KEY: DEV_KEYS[0],
    ANCHOR_CONFIRMATIONS: '2',
    ANCHOR_INTERVAL_MS: '300',
    ANCHOR_POLL_MS: '100',
    ANCHOR_LEASE_MS: '1500',
  };
}

/** The agent_created record of a freshly registered agent, once recorded. */
async function registerAndFindRecord(client: HttpClient, name: string): Promise<number> {
  const created = await client.post('/api/v1/sdk/agents', { name, entry_code: 'return 1;' });
  assert.equal(created.status, 201, created.text);
  const page = await waitFor(
    () => client.get(`${AUDIT}?actionTypes=agent_created&limit=1000`),
    (r) => r.body?.events?.some((e: { agent_id: number }) => e.agent_id === created.body.agent.id),
    { what: `the agent_created record of ${name}` },
  );
  return page.body.events.find((e: { agent_id: number }) => e.agent_id === created.body.agent.id).id;
}

async function untilAnchored(client: HttpClient, recordId: number, timeoutMs = 30_000) {
  const res = await waitFor(() => client.get(`${AUDIT}/${recordId}/verify`), (r) => r.body?.anchored === true, { what: `record ${recordId} anchored`, timeoutMs });
  return res.body;
}

function logLines(proc: RunningProcess, msg: string): Record<string, unknown>[] {
  return proc
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    })
    .filter((l) => l.msg === msg);
}

describe('anchoring (e2e)', function () {
  this.timeout(180_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tz-anchor-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('with the chain up', () => {
    let system: TestSystem;
    let chain: TestChain;
    let api: HttpClient;
    let alice: TestAccount;
    let bob: TestAccount;
    let a: HttpClient;
    let b: HttpClient;
    let anchorers: RunningProcess[];
    let redis: Redis;

    before(async () => {
      system = await TestSystem.create('anchoring');
      chain = await startTestChain({ blockTimeS: 1 });
      alice = await system.createAccount('alice');
      bob = await system.createAccount('bob');
      api = await system.startApi({ CHAIN_RPC_URL: chain.url });
      await system.startScheduler();
      anchorers = [await system.startAnchorer(anchorerEnv(chain.url)), await system.startAnchorer(anchorerEnv(chain.url))];
      a = api.withKey(alice.adminKey);
      b = api.withKey(bob.adminKey);
      redis = new Redis(TEST_REDIS_URL);
    });
    after(async () => {
      redis?.disconnect();
      await system?.stop();
      await chain?.stop();
    });

    it('anchors a record written through the API; verify reports the anchor and the proof file checks out against the chain alone', async () => {
      const recordId = await registerAndFindRecord(a, 'anchored-agent');
      const verify = await untilAnchored(a, recordId);
      assert.equal(verify.chain_valid, true);
      assert.equal(verify.inclusion_valid, true);
      assert.match(verify.merkle_root, /^[0-9a-f]{64}$/);
      assert.ok(verify.leaf_index >= 0 && verify.leaf_index < verify.tree_size);
      assert.ok(Array.isArray(verify.inclusion_proof));
      assert.match(verify.anchor_tx_hash, /^0x[0-9a-f]{64}$/);
      assert.equal(verify.chain_id, 31337);
      assert.ok(verify.block_number >= 1);
      assert.ok(verify.confirmations >= 2, JSON.stringify(verify));
      assert.equal(verify.confirmations_source, 'chain');

      const page = await a.get(`${AUDIT}?actionTypes=agent_created&limit=1000`);
      assert.equal(page.body.anchored, true);

      const proof = await a.get(`${AUDIT}/${recordId}/proof`);
      assert.equal(proof.status, 200, proof.text);
      assert.match(proof.headers.get('content-disposition') ?? '', /attachment/);
      assert.equal(proof.body.record.id, String(recordId));
      assert.equal(proof.body.anchor.tx_hash, verify.anchor_tx_hash);
      const file = path.join(dir, 'proof.json');
      await writeFile(file, proof.text);
      // No database, no configuration: only the file and the chain.
      const checked = await runTz(['audit', 'verify-proof', file, '--rpc', chain.url], { DATABASE_URL: '', REDIS_URL: '' });
      assert.equal(checked.code, 0, checked.stdout + checked.stderr);
      assert.match(checked.stdout, /hash [0-9a-f]{64} re-derived/);
      assert.match(checked.stdout, /\nVALID\n$/);
      const pinned = await runTz(['audit', 'verify-proof', file, '--rpc', chain.url, '--anchor-address', ANCHOR_ADDRESS], {});
      assert.equal(pinned.code, 0, pinned.stdout);
    });

    it('fails a tampered record or proof file with exit 1 and the reason', async () => {
      const ids = await Promise.all(['t1', 't2', 't3'].map((n) => registerAndFindRecord(a, `tamper-${n}`)));
      await Promise.all(ids.map((id) => untilAnchored(a, id)));
      const original = (await a.get(`${AUDIT}/${ids[0]}/proof`)).body;
      const other = (await a.get(`${AUDIT}/${ids[2]}/proof`)).body;
      const cases: [string, (f: any) => void, RegExp][] = [
        ['an edited description', (f) => (f.record.description = `${f.record.description} (edited)`), /INVALID \(record_hash_mismatch\)/],
        ['an edited hash', (f) => (f.record.hash = f.record.hash.replace(/^./, (c: string) => (c === '0' ? '1' : '0'))), /INVALID \(record_hash_mismatch\)/],
        ['another root', (f) => (f.merkle.root = '00'.repeat(32)), /INVALID \(inclusion_root_mismatch\)/],
        ['an extra proof element', (f) => f.merkle.inclusion_proof.push('11'.repeat(32)), /INVALID \(inclusion_proof_too_long\)/],
        ['another leaf index', (f) => (f.merkle.leaf_index = f.merkle.tree_size), /INVALID \(inclusion_index_out_of_range\)/],
        ['an unknown transaction', (f) => (f.anchor.tx_hash = `0x${'ab'.repeat(32)}`), /INVALID \(tx_not_found\)/],
        ['another chain', (f) => (f.anchor.chain_id = '1'), /INVALID \(chain_id_mismatch\)/],
        ['too few confirmations', (f) => (f.anchor.confirmations_required = 1_000_000), /INVALID \(insufficient_confirmations\)/],
        ['an unknown field', (f) => (f.record.note = 'x'), /INVALID \(not_a_proof_file\)/],
      ];
      if (original.merkle.inclusion_proof.length > 0) {
        cases.push(['a changed proof element', (f) => (f.merkle.inclusion_proof[0] = '22'.repeat(32)), /INVALID \(inclusion_root_mismatch\)/]);
      }
      if (other.anchor.tx_hash !== original.anchor.tx_hash) {
        // A real anchor transaction, but of another batch: its calldata carries another root.
        cases.push(['the transaction of another batch', (f) => (f.anchor.tx_hash = other.anchor.tx_hash), /INVALID \((root_mismatch|range_mismatch)\)/]);
      }
      for (const [what, tamper, expected] of cases) {
        const copy = structuredClone(original);
        tamper(copy);
        const file = path.join(dir, 'tampered.json');
        await writeFile(file, JSON.stringify(copy));
        const res = await runTz(['audit', 'verify-proof', file, '--rpc', chain.url], {});
        assert.equal(res.code, 1, `${what}: ${res.stdout}${res.stderr}`);
        assert.match(res.stdout, expected, what);
      }
      await writeFile(path.join(dir, 'garbage.json'), '{not json');
      const garbage = await runTz(['audit', 'verify-proof', path.join(dir, 'garbage.json'), '--rpc', chain.url], {});
      assert.equal(garbage.code, 1);
      const wrongSender = await runTz(['audit', 'verify-proof', path.join(dir, 'proof.json'), '--rpc', chain.url, '--anchor-address', `0x${'12'.repeat(20)}`], {});
      assert.equal(wrongSender.code, 1);
      assert.match(wrongSender.stdout, /INVALID \(sender_mismatch\)/);
    });

    it("lists only the account's batches, and another account's record has no proof or verification for this key", async () => {
      const bobRecord = await registerAndFindRecord(b, 'bob-agent');
      await untilAnchored(b, bobRecord);
      const aliceRecord = await registerAndFindRecord(a, 'alice-only');
      await untilAnchored(a, aliceRecord);
      const listed = await b.get('/api/v1/sdk/anchors?limit=100');
      assert.equal(listed.status, 200);
      const expected = await system.db.query(
        `SELECT a.batch_id::int AS id FROM anchor_batch_accounts a JOIN anchor_batches b ON b.id = a.batch_id WHERE a.account_id = $1 AND b.status = 'confirmed' ORDER BY 1 DESC`,
        [bob.id],
      );
      assert.deepEqual(listed.body.anchors.map((x: { id: number }) => x.id), expected.map((r: { id: number }) => r.id));
      assert.equal(listed.body.total, expected.length);
      for (const batch of listed.body.anchors) {
        assert.ok(batch.account.record_count >= 1);
        assert.match(batch.tx_hash, /^0x[0-9a-f]{64}$/);
        assert.equal(batch.chain_id, 31337);
      }
      assert.equal((await b.get(`${AUDIT}/${aliceRecord}/proof`)).status, 404);
      assert.equal((await b.get(`${AUDIT}/${aliceRecord}/verify`)).status, 404);
      assert.equal((await b.get('/api/v1/sdk/anchors?limit=0')).status, 400);
      const status = await a.get('/api/v1/sdk/anchors/status');
      assert.equal(status.status, 200);
      assert.equal(status.body.anchorer.chain_reachable, true);
      assert.equal(status.body.anchorer.anchor_address, ANCHOR_ADDRESS);
      assert.equal(typeof status.body.records_waiting, 'number');
      assert.ok(status.body.last_batch.account.record_count >= 1);
    });

    it('tz anchor status prints the chain with the RPC credentials masked, the last batch and what waits', async () => {
      const masked = chain.url.replace('http://', 'http://auditor:s3cretpass@');
      const res = await runTz(['anchor', 'status'], system.env({ CHAIN_RPC_URL: masked, ANCHOR_PRIVATE_KEY: DEV_KEYS[0] }));
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /chain: +id 31337 at http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1/);
      assert.ok(!res.stdout.includes('s3cretpass') && !res.stdout.includes('auditor'));
      assert.match(res.stdout, /last batch: +#\d+: \d+ record\(s\)/);
      assert.match(res.stdout, /records waiting: \d+/);
      assert.match(res.stdout, /anchorer: .*chain reachable/);
    });

    it('two anchorer processes: one holds the lease; when it is killed the other takes over, one transaction per batch', async () => {
      const holder = await redis.get(redisKeys(system.redisPrefix).anchorerLease);
      const leader = anchorers.find((p) => holder?.includes(`-${p.child.pid}-`));
      assert.ok(leader, `lease holder ${holder} is one of ours`);
      const standby = anchorers.find((p) => p !== leader)!;
      assert.equal(logLines(standby, 'anchor batch planned').length, 0, 'the standby never planned a batch');
      await leader.stop('SIGKILL');
      const recordId = await registerAndFindRecord(a, 'after-failover');
      await untilAnchored(a, recordId);
      assert.ok(logLines(standby, 'anchorer lease acquired; anchoring').length === 1);
      const [counts] = await system.db.query(
        `SELECT (SELECT count(*) FROM anchor_batches)::int AS batches, (SELECT count(*) FROM anchor_transactions)::int AS txs,
                (SELECT count(*) FROM anchor_leaves)::int AS leaves, (SELECT count(DISTINCT record_id) FROM anchor_leaves)::int AS distinct_leaves`,
      );
      assert.equal(counts.txs, counts.batches);
      assert.equal(counts.leaves, counts.distinct_leaves);
    });
  });

  describe('with the chain down, then a crash between broadcast and confirmation', () => {
    let system: TestSystem;
    let chain: TestChain | undefined;
    let a: HttpClient;

    before(async () => {
      system = await TestSystem.create('anchorcrash');
      const alice = await system.createAccount('alice');
      const api = await system.startApi();
      await system.startScheduler();
      a = api.withKey(alice.adminKey);
    });
    after(async () => {
      await system?.stop();
      await chain?.stop();
    });

    it('lets records wait while the chain is down, then resumes the killed anchorer\'s transaction: no gap, no second batch', async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const first = await system.startAnchorer(anchorerEnv(url));
      const recordId = await registerAndFindRecord(a, 'waits-for-chain');
      const down = await waitFor(
        () => a.get('/api/v1/sdk/anchors/status'),
        (r) => r.body?.anchorer?.chain_errors_total >= 2,
        { what: 'chain errors reported', timeoutMs: 20_000 },
      );
      assert.equal(down.body.anchorer.chain_reachable, false);
      assert.ok(down.body.records_waiting >= 1);
      assert.equal(down.body.pending_batch, null);
      const notYet = await a.get(`${AUDIT}/${recordId}/proof`);
      assert.equal(notYet.status, 409);
      assert.equal(notYet.body.error.code, 'not_anchored');
      assert.equal((await a.get(`${AUDIT}/${recordId}/verify`)).body.anchored, false);

      // The chain comes up but mines nothing: the transaction waits in the mempool.
      chain = await startTestChain({ port, noMining: true });
      const [broadcast] = await waitFor(async () => logLines(first, 'anchor transaction broadcast'), (l) => l.length > 0, { what: 'the broadcast', timeoutMs: 30_000 });
      const txHash = String(broadcast!.txHash);
      await first.stop('SIGKILL');

      const second = await system.startAnchorer(anchorerEnv(url));
      await waitFor(async () => logLines(second, 'resuming pending anchor batch'), (l) => l.length > 0, { what: 'the resume', timeoutMs: 20_000 });
      await chain.mine(2);
      const verify = await untilAnchored(a, recordId);
      assert.equal(verify.anchor_tx_hash, txHash, 'the stored transaction, not a new one');
      const [counts] = await system.db.query(
        `SELECT (SELECT count(*) FROM anchor_batches)::int AS batches, (SELECT count(*) FROM anchor_transactions)::int AS txs,
                (SELECT count(*) FROM audit_records)::int AS records, (SELECT count(*) FROM anchor_queue)::int AS waiting,
                (SELECT count(*) FROM anchor_leaves)::int AS leaves`,
      );
      assert.equal(counts.batches, 1);
      assert.equal(counts.txs, 1);
      assert.equal(await chain.chain.transactionCount(ANCHOR_ADDRESS, 'latest'), 1n, 'one transaction reached the chain');
      assert.equal(counts.leaves + counts.waiting, counts.records, 'every record is anchored or waiting');
    });
  });
});

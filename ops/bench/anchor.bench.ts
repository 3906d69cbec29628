// Anchoring on a local anvil (1 s blocks) with the anchorer in-process:
// - latency from a record's commit to its batch confirmed, with ANCHOR_INTERVAL_MS = 1 s;
// - planning a large batch (queue -> leaves, per-account ranges, whole tree stored), and
//   reading one inclusion proof back from the stored tree, node by node.
// The Merkle root and proof-check figures themselves are in merkle.bench.ts.
import { auditEvent } from '../../shared/audit/audit-event.ts';
import { EvmChain } from '../../shared/chain/evm-chain.ts';
import { JsonRpcClient } from '../../shared/chain/json-rpc-client.ts';
import { AnchorStore } from '../../shared/db/stores/anchor-store.ts';
import { connectRedis } from '../../shared/redis/connection.ts';
import { redisKeys } from '../../shared/redis/keys.ts';
import { Secret } from '../../shared/secret.ts';
import { createLogger } from '../../shared/logger.ts';
import { writeChainBatch } from '../../scheduler/recorder/chain-writer.ts';
import { AnchorBatches } from '../../anchorer/anchor-batches.ts';
import { AnchorSigner } from '../../anchorer/anchor-signer.ts';
import { Anchorer } from '../../anchorer/anchorer.ts';
import { DEV_KEYS, startTestChain } from '../../test/helpers/test-chain.ts';
import { TEST_REDIS_URL } from '../../test/helpers/test-redis.ts';
import { TestSystem } from '../../test/helpers/test-system.ts';
import { waitFor } from '../../test/helpers/wait-for.ts';
import { percentile, round, type Benchmark, type BenchRow } from './benchmark.ts';

const INTERVAL_MS = 1000;
const BLOCK_TIME_S = 1;
const PROOF_READS = 200;

const anchor: Benchmark = {
  name: 'anchor',
  description: `record commit -> batch confirmed on anvil (interval ${INTERVAL_MS} ms, ${BLOCK_TIME_S} s blocks); planning BENCH_ANCHOR_RECORDS records; proof reads`,
  async run(settings): Promise<BenchRow[]> {
    const { anchorSamples: SAMPLES, anchorRecords: BIG_BATCH } = settings;
    const system = await TestSystem.create('anchorbench');
    const chain = await startTestChain({ blockTimeS: BLOCK_TIME_S });
    const redis = connectRedis(TEST_REDIS_URL, 'anchor-bench');
    const account = await system.createAccount('bench');
    const write = (n: number) =>
      system.db.transaction((tx) =>
        writeChainBatch(
          tx,
          Array.from({ length: n }, (_, i) => auditEvent({ accountId: account.id, actor: 'node:bench', actionType: 'api_call', description: `call ${i}` })),
          new Date(),
        ),
      );
    const store = new AnchorStore(system.db);
    const signer = new AnchorSigner(new Secret(DEV_KEYS[0]));
    const evm = new EvmChain(new JsonRpcClient(chain.url, 5000));
    const start = (batchSize: number) => {
      const anchorer = new Anchorer({
        db: system.db,
        redis,
        keys: redisKeys(system.redisPrefix),
        chain: evm,
        signer,
        log: createLogger({ logLevel: 'warn' }),
        options: { intervalMs: INTERVAL_MS, batchSize, confirmations: 1, leaseMs: 3000, pollMs: 100, replaceAfterMs: 600_000, maxFeePerGasWei: 500_000_000_000n },
      });
      return anchorer.start().then(() => anchorer);
    };
    try {
      // 1. Commit -> confirmed, one record at a time at random moments of the interval.
      const anchorer = await start(1_000_000);
      const latencies: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        await new Promise((r) => setTimeout(r, Math.random() * INTERVAL_MS));
        const { records } = await write(1);
        const committed = performance.now();
        await waitFor(() => store.countAnchored([records[0]!.id]), (n) => n === 1, { intervalMs: 10, timeoutMs: 30_000, what: 'the record anchored' });
        latencies.push(performance.now() - committed);
      }
      await anchorer.close();

      // 2. A large batch: records written, then planned in one transaction, then a proof read back.
      for (let i = 0; i < BIG_BATCH; i += 5000) await write(Math.min(5000, BIG_BATCH - i));
      const planStart = performance.now();
      const batch = (await new AnchorBatches(system.db).plan({ maxRecords: BIG_BATCH, chainId: await evm.chainId(), anchorAddress: signer.address, confirmations: 1 }))!;
      const planMs = performance.now() - planStart;
      const proofMs: number[] = [];
      for (let i = 0; i < PROOF_READS; i++) {
        const t = performance.now();
        await store.inclusionProof(batch.id, Math.floor(Math.random() * batch.recordCount), batch.recordCount);
        proofMs.push(performance.now() - t);
      }
      const finisher = await start(BIG_BATCH);
      const confirmStart = performance.now();
      await waitFor(() => store.pending(), (p) => p === null, { intervalMs: 20, timeoutMs: 60_000, what: 'the large batch confirmed' });
      const confirmMs = performance.now() - confirmStart;
      await finisher.close();

      const median = percentile(latencies, 50);
      const goalMs = INTERVAL_MS + 2 * BLOCK_TIME_S * 1000;
      return [
        {
          name: 'record commit -> batch confirmed, median',
          value: round(median / 1000, 2),
          unit: 's',
          reference: `p90 ${round(percentile(latencies, 90) / 1000, 2)} s, max ${round(Math.max(...latencies) / 1000, 2)} s over ${SAMPLES} records; interval ${INTERVAL_MS} ms, ${BLOCK_TIME_S} s blocks, 1 confirmation`,
          goal: `<= interval + 2 blocks (${goalMs / 1000} s)`,
          met: median <= goalMs,
        },
        {
          name: `plan a batch of ${BIG_BATCH.toLocaleString('en')} records (queue -> leaves + tree stored)`,
          value: round(planMs / 1000, 2),
          unit: 's',
          reference: `then submitted and confirmed in ${round(confirmMs / 1000, 2)} s`,
          goal: '-',
          met: null,
        },
        {
          name: `inclusion proof read from the stored tree (${BIG_BATCH.toLocaleString('en')} leaves), median`,
          value: round(percentile(proofMs, 50), 2),
          unit: 'ms',
          reference: `p99 ${round(percentile(proofMs, 99), 2)} ms over ${PROOF_READS} random leaves`,
          goal: '-',
          met: null,
        },
      ];
    } finally {
      redis.disconnect();
      await chain.stop();
      await system.stop();
    }
  },
};

export default anchor;

// 10,000 executions in a row through the pool leave memory flat. Measured as growth of
// the whole process (pool threads and their WebAssembly heaps included) over the last
// 6,000 runs, after the allocator has settled: RSS moves for reasons of its own in a
// long test process (other suites, lazily compiled code, allocator arenas), but a leak
// grows with the number of runs, and one of 5 KB per run would exceed the bound.
import assert from 'node:assert/strict';
import type { SandboxPool } from '../../../../executor-node/sandbox/sandbox-pool.ts';
import type { ContextReader } from '../../../../executor-node/sandbox/sandbox-request.ts';
import { assertPoolHealthy, testAgent, testSandboxPool } from '../../../helpers/sandbox-harness.ts';

const CODE = `
thetazero.log('run ' + thetazero.executionId);
const seen = await thetazero.read_context('seen');
await thetazero.write_result({ seen, n: input.n });
return { n: input.n * 2, seen };`;

const reader: ContextReader = { read: async () => ({ count: 1 }) };
const MB = 1024 * 1024;

async function runMany(pool: SandboxPool, count: number, firstId: number): Promise<void> {
  const agent = testAgent(CODE);
  const inFlight = 16;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const result = await pool.run({ executionId: firstId + n, agent, input: { n }, contextReader: reader });
      if (result.status !== 'completed' || (result.output as { n: number }).n !== n * 2) {
        assert.fail(`run ${n}: ${JSON.stringify(result)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

describe('sandbox hygiene', function () {
  this.timeout(120_000);

  it('runs 10,000 executions in a row with memory flat', async () => {
    const pool = testSandboxPool({ poolSize: 2 });
    try {
      await runMany(pool, 1500, 1);
      await runMany(pool, 4000, 10_000);
      global.gc?.();
      const settled = process.memoryUsage();
      await runMany(pool, 6000, 20_000);
      global.gc?.();
      const after = process.memoryUsage();
      const rssGrowth = (after.rss - settled.rss) / MB;
      const heapGrowth = (after.heapUsed - settled.heapUsed) / MB;
      assert.ok(rssGrowth < 30, `RSS grew ${rssGrowth.toFixed(1)} MB over the last 6,000 of 10,000 runs`);
      assert.ok(heapGrowth < 15, `main heap grew ${heapGrowth.toFixed(1)} MB over the last 6,000 of 10,000 runs`);
      assert.equal(pool.threadCount, 2);
      await assertPoolHealthy(pool);
    } finally {
      await pool.destroy();
    }
  });
});

// The engine on its own, in this thread: handle hygiene (a leaked QuickJS handle would make
// QuickJS refuse to free the runtime, and the instance would be replaced), instance reuse
// and replacement, the next run's runtime built ahead while idle, and the round trip
// through an async host function.
import assert from 'node:assert/strict';
import { createHostApi } from '../../../../executor-node/host-api/host-api.ts';
import { RunLedger } from '../../../../executor-node/host-api/run-ledger.ts';
import { GuestRun, type GuestRunOptions } from '../../../../executor-node/sandbox/guest-run.ts';
import type { HostFunctionSpec } from '../../../../executor-node/sandbox/host-function.ts';
import { QuickJsInstancePool, RECYCLE_AFTER_BYTES } from '../../../../executor-node/sandbox/quickjs-instance.ts';

const instances = new QuickJsInstancePool();

function hostFunctions(ledger: RunLedger): HostFunctionSpec[] {
  return createHostApi({
    grant: { scopes: ['data:read'], allowNetwork: false, allowedDomains: [], maxApiCallsPerRun: 1000 },
    ledger,
    limits: {
      apiCallsPerMinute: 1000,
      maxOutputBytes: 1 << 20,
      maxLogBytes: 1 << 20,
      maxContextValueBytes: 1 << 20,
      httpMaxRequestBytes: 1 << 16,
      httpMaxResponseBytes: 1 << 20,
    },
    http: async () => {
      throw new Error('no network in this test');
    },
    readContext: async (key) => JSON.stringify({ key }),
  });
}

async function runGuest(code: string, overrides: Partial<GuestRunOptions> = {}) {
  const ledger = new RunLedger({ maxHostCalls: 100_000, maxLogLines: 1000, maxLogBytes: 1 << 20 });
  const instance = await instances.acquire();
  const run = new GuestRun(instance, {
    code,
    inputJson: '{"n":1}',
    identity: { agentName: 'engine-test', agentVersion: '1', executionId: 1 },
    hostFunctions: hostFunctions(ledger),
    memoryLimitBytes: 32 << 20,
    maxStackBytes: 256 * 1024,
    timeLimitMs: 2000,
    maxPendingHostCalls: 16,
    maxOutputBytes: 1 << 20,
    ...overrides,
  });
  const outcome = await run.execute();
  // The teardown a thread does once idle: freeing a runtime with a leaked handle fails there.
  instance.settle();
  const poisoned = instance.poisoned;
  instances.release(instance);
  return { outcome, ledger, poisoned };
}

describe('GuestRun', function () {
  this.timeout(30_000);

  it('frees every handle: clean runs with host calls keep reusing one instance', async () => {
    await runGuest('return 1');
    const before = instances.created;
    for (let i = 0; i < 300; i++) {
      const { outcome, poisoned } = await runGuest(`
        thetazero.log('n=' + input.n);
        const ctx = await thetazero.read_context('k${i}');
        await thetazero.write_result({ ctx });
        const fired = thetazero.read_context('not-awaited');
        try { await thetazero.http_request('https://example.com') } catch (e) {}
        try { null.x } catch (e) {}
        return { i: ${i}, key: ctx.key };`);
      assert.equal(outcome.end.kind, 'returned', JSON.stringify(outcome.end));
      assert.equal(poisoned, false, `run ${i} left QuickJS unable to free its runtime`);
    }
    assert.equal(instances.created, before, 'no instance was replaced');
  });

  it('builds the next run\'s runtime while idle; the run that takes it sees nothing of the one before', async () => {
    await runGuest('return 1');
    const instance = await instances.acquire();
    instances.release(instance);
    const first = await runGuest('globalThis.leak = 42; Object.prototype.polluted = 1; Array.prototype.push = null; return 1');
    assert.equal(first.poisoned, false);
    const idle = await instances.acquire();
    assert.equal(idle, instance, 'the same instance serves the runs');
    idle.prepare();
    assert.equal(idle.hasShell, true, 'the next runtime is built ahead');
    instances.release(idle);
    const second = await runGuest('const a = []; a.push(1); return [typeof leak, ({}).polluted === undefined, a.length]');
    assert.deepEqual(second.outcome.end, { kind: 'returned', outputJson: '["undefined",true,1]' });
    assert.equal(instance.hasShell, false, 'the run took the shell built ahead');
  });

  it('discards the instance when a deferred teardown fails', async () => {
    const instance = await instances.acquire();
    instance.deferCleanup(() => {
      throw new Error('teardown failed');
    });
    instance.settle();
    assert.equal(instance.poisoned, true);
    instances.release(instance);
    const next = await runGuest('return 2');
    assert.deepEqual(next.outcome.end, { kind: 'returned', outputJson: '2' });
  });

  it('replaces the instance after an interrupted run, and the next run is normal', async () => {
    const before = instances.created;
    const { outcome, poisoned } = await runGuest('for (;;) {}', { timeLimitMs: 100 });
    assert.ok(outcome.end.kind === 'stopped' && outcome.end.stop.code === 'cpu_time_limit_exceeded');
    assert.equal(poisoned, true);
    const next = await runGuest('return input.n + 1');
    assert.deepEqual(next.outcome.end, { kind: 'returned', outputJson: '2' });
    assert.equal(instances.created, before + 1);
  });

  it('never lets a run grow the heap past its allowance, and does not keep a bloated heap', async () => {
    const { outcome } = await runGuest('const keep = []; for (;;) keep.push(new ArrayBuffer(1 << 20))', { memoryLimitBytes: 24 << 20 });
    assert.ok(outcome.end.kind === 'stopped' && outcome.end.stop.code === 'memory_limit_exceeded');
    assert.ok(outcome.memoryBytes <= 25 << 20, `grew ${outcome.memoryBytes} bytes`);
    const fresh = await instances.acquire();
    assert.ok(fresh.heapBytes <= RECYCLE_AFTER_BYTES);
    instances.release(fresh);
  });

  it('round-trips guest -> async host function -> guest tens of thousands of times a second', async () => {
    const noop: HostFunctionSpec = { name: 'noop', mode: 'async', maxArgBytes: 64, invoke: () => Promise.resolve(undefined) };
    const started = performance.now();
    const { outcome } = await runGuest('for (let i = 0; i < 20000; i++) await thetazero.noop(); return "done"', {
      hostFunctions: [noop],
      timeLimitMs: 20_000,
    });
    const perSecond = 20_000 / ((performance.now() - started) / 1000);
    assert.deepEqual(outcome.end, { kind: 'returned', outputJson: '"done"' });
    assert.ok(perSecond > 10_000, `${Math.round(perSecond)} round trips/s`);
  });
});

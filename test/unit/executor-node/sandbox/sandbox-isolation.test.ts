// Escape attempts: constructor chains, prototype pollution in both directions, host
// globals, module loading. Each run's status is asserted, then the pool's health.
import assert from 'node:assert/strict';
import type { ContextReader } from '../../../../executor-node/sandbox/sandbox-request.ts';
import { fixtureCode, nextExecutionId, sandboxPoolPerSuite, testAgent } from '../../../helpers/sandbox-harness.ts';

const profileReader: ContextReader = {
  read: async (key) => (key === 'profile' ? { tier: 'gold', nested: { a: 1 }, list: [1, 2] } : null),
};

describe('sandbox isolation', function () {
  this.timeout(20_000);
  const sandbox = sandboxPoolPerSuite();

  it('reaches no host through any constructor chain, host errors included', async () => {
    const result = await sandbox.pool.run({
      executionId: nextExecutionId(),
      agent: testAgent(fixtureCode('constructor-escape')),
      input: { any: 'thing' },
    });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    assert.deepEqual(result.output, {
      viaLog: 'undefined',
      viaHttp: 'undefined',
      viaInput: 'undefined',
      viaGlobalThis: 'undefined/undefined',
      viaThis: 'undefined',
      viaArguments: 'undefined',
      viaProto: 'undefined',
      viaAsyncCtor: 'undefined',
      viaHostError: 'undefined',
      hostErrorIsGuestError: true,
    });
    // The probe's own http_request was denied: audited and counted as a violation.
    assert.equal(result.host_call_audit[0]!.reason, 'scope_missing');
    assert.equal(result.violation_count, 1);
  });

  it('finds no require, process, Buffer, timers, shared memory or module loading', async () => {
    const result = await sandbox.pool.run({
      executionId: 77,
      agent: testAgent(fixtureCode('globals-probe')),
      input: { nested: { deep: [1, { x: 2 }] } },
    });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    const probe = result.output as Record<string, unknown>;
    for (const name of ['require', 'process', 'Buffer', 'module', 'exports', 'setTimeout', 'setInterval', 'setImmediate',
      'queueMicrotask', 'SharedArrayBuffer', 'Atomics', 'WeakRef', 'FinalizationRegistry', 'WebAssembly', 'std', 'os',
      'fetch', 'XMLHttpRequest', 'console', 'gc']) {
      assert.equal(probe[name], 'undefined', name);
    }
    assert.match(String(probe.dynamicImport), /^threw /);
    assert.equal(probe.thetazeroWritable, 'function');
    assert.equal(probe.inputFrozen, true);
    assert.deepEqual(probe.identity, ['test-agent', '1.0.0', 77]);
  });

  it('keeps guest pollution in the guest, and strips __proto__ from what comes out', async () => {
    const result = await sandbox.pool.run({
      executionId: nextExecutionId(),
      agent: testAgent(fixtureCode('prototype-pollution')),
      input: null,
      contextReader: profileReader,
    });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    const output = result.output as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(output), Object.prototype);
    assert.equal(Object.hasOwn(output, '__proto__'), false);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
    // The host read the real values with the intrinsics captured before the agent ran.
    assert.deepEqual(output.stored, { tier: 'gold', nested: { a: 1 }, list: [1, 2] });
    assert.equal(output.storedIsPlainGuestObject, true);
    assert.equal(result.host_call_audit.length, 2);
  });

  it('hands the guest copies in its own realm, never host objects', async () => {
    const result = await sandbox.pool.run({
      executionId: nextExecutionId(),
      agent: testAgent(fixtureCode('host-value-escape')),
      input: null,
      contextReader: profileReader,
    });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    const output = result.output as Record<string, unknown>;
    assert.equal(output.valueCtor, 'undefined');
    assert.equal(output.nestedCtor, 'undefined');
    assert.equal(output.arrayCtor, 'undefined');
    assert.equal(output.protoChain, null);
    assert.equal(output.sameRealm, true);
  });

  it('gives each run a fresh context: nothing one run leaves is seen by the next', async () => {
    const first = await sandbox.pool.run({
      executionId: nextExecutionId(),
      agent: testAgent('globalThis.leak = "left behind"; Object.prototype.leak2 = 1; return 1'),
      input: null,
    });
    assert.equal(first.status, 'completed');
    const runs = await Promise.all(
      [1, 2, 3, 4].map(() =>
        sandbox.pool.run({
          executionId: nextExecutionId(),
          agent: testAgent('return [typeof globalThis.leak, typeof ({}).leak2]'),
          input: null,
        }),
      ),
    );
    for (const run of runs) assert.deepEqual(run.output, ['undefined', 'undefined']);
  });

  it('makes input read-only and the copy independent of the caller', async () => {
    const input = { list: [1, 2, 3] };
    const result = await sandbox.pool.run({
      executionId: nextExecutionId(),
      agent: testAgent('"use strict"; try { input.list.push(4) } catch (e) { return e.name } return "mutated"'),
      input,
    });
    assert.equal(result.output, 'TypeError');
    assert.deepEqual(input, { list: [1, 2, 3] });
  });
});

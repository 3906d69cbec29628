// The pool as the executor node uses it: the result shape, output rules, live events,
// outside termination, the kill timer (layer three) and thread replacement.
import assert from 'node:assert/strict';
import type { ContextReader } from '../../../../executor-node/sandbox/sandbox-request.ts';
import type { SandboxEvent } from '../../../../executor-node/sandbox/sandbox-result.ts';
import { AppError } from '../../../../shared/errors.ts';
import { ConfigError } from '../../../../shared/errors.ts';
import {
  assertPoolHealthy,
  fixtureCode,
  fixturePath,
  nextExecutionId,
  sandboxPoolPerSuite,
  testAgent,
  testSandboxPool,
} from '../../../helpers/sandbox-harness.ts';

const UNRESPONSIVE_THREAD = fixturePath('unresponsive-thread.cjs');

const PRODUCT_EXAMPLE = `
const tz = thetazero;
await tz.log("Starting execution", "info");
await tz.log(\`Agent: \${tz.agentName} v\${tz.agentVersion}\`);
const prevCount = await tz.read_context("run_count") ?? 0;
await tz.write_result({ processed: input.items.length, run_number: prevCount + 1 });
`;

describe('SandboxPool', function () {
  this.timeout(30_000);
  const sandbox = sandboxPoolPerSuite({}, { checkHealthAfterEach: false });

  it('runs the product page example and returns the documented result shape', async () => {
    const reader: ContextReader = { read: async (key) => (key === 'run_count' ? 41 : null) };
    const result = await sandbox.pool.run({
      executionId: 4821,
      agent: testAgent(PRODUCT_EXAMPLE, { permissions: 'READONLY' }),
      input: { items: [1, 2, 3] },
      contextReader: reader,
    });
    assert.deepEqual(Object.keys(result).sort(), [
      'duration_ms', 'error', 'execution_id', 'host_call_audit', 'logs', 'output', 'resource_usage', 'status',
      'violation_count', 'violations', 'was_terminated',
    ]);
    assert.equal(result.execution_id, 4821);
    assert.equal(result.status, 'completed');
    assert.deepEqual(result.output, { processed: 3, run_number: 42 });
    assert.equal(result.error, null);
    assert.deepEqual(Object.keys(result.resource_usage).sort(), ['api_calls', 'cpu_ms', 'host_calls', 'memory_mb']);
    assert.equal(result.resource_usage.api_calls, 1);
    assert.equal(result.resource_usage.host_calls, 4);
    assert.ok(result.resource_usage.cpu_ms > 0 && result.resource_usage.memory_mb > 0);
    assert.deepEqual(result.host_call_audit.map((e) => [e.fn, e.allowed]), [['read_context', true], ['write_result', true]]);
    for (const entry of result.host_call_audit) {
      assert.ok(Number.isFinite(Date.parse(entry.timestamp)) && entry.duration_ms >= 0 && entry.seq > 0);
    }
    assert.deepEqual(result.logs.map((l) => [l.level, l.message]), [['info', 'Starting execution'], ['info', 'Agent: test-agent v1.0.0']]);
    assert.equal(result.violation_count, 0);
    assert.equal(result.was_terminated, false);
  });

  it('uses the returned value over write_result, and write_result when nothing is returned', async () => {
    const returned = await sandbox.pool.run({
      executionId: nextExecutionId(),
      agent: testAgent('await thetazero.write_result("written"); return { returned: true }'),
      input: null,
    });
    assert.deepEqual(returned.output, { returned: true });
    const written = await sandbox.pool.run({
      executionId: nextExecutionId(),
      agent: testAgent('await thetazero.write_result(1); await thetazero.write_result({ last: true })'),
      input: null,
    });
    assert.deepEqual(written.output, { last: true });
  });

  it('reports an uncaught error with its guest stack, and keeps what was written', async () => {
    const result = await sandbox.pool.run({
      executionId: nextExecutionId(),
      agent: testAgent('await thetazero.write_result({ partial: 1 });\nfunction fail() { throw new TypeError("bad thing") }\nfail();'),
      input: null,
    });
    assert.equal(result.status, 'failed');
    assert.deepEqual(result.error && [result.error.code, result.error.message], ['guest_error', 'TypeError: bad thing']);
    assert.match(result.error!.stack!, /at fail \(agent\.js:2:/);
    assert.deepEqual(result.output, { partial: 1 });
  });

  it('reports a syntax error and an await that can never settle', async () => {
    const syntax = await sandbox.pool.run({ executionId: nextExecutionId(), agent: testAgent('return {'), input: null });
    assert.deepEqual([syntax.status, syntax.error?.code], ['failed', 'syntax_error']);
    const stuck = await sandbox.pool.run({ executionId: nextExecutionId(), agent: testAgent('await new Promise(() => {})'), input: null });
    assert.deepEqual([stuck.status, stuck.error?.code], ['failed', 'unsettled_promise']);
  });

  it('audits a failing context reader as context_unavailable without failing the run', async () => {
    const result = await sandbox.pool.run({
      executionId: nextExecutionId(),
      agent: testAgent('try { await thetazero.read_context("k") } catch (e) { return e.code }'),
      input: null,
      contextReader: { read: async () => Promise.reject(new Error('redis down')) },
    });
    assert.equal(result.output, 'context_unavailable');
    assert.deepEqual([result.host_call_audit[0]!.allowed, result.host_call_audit[0]!.error], [true, 'context_unavailable']);
  });

  it('streams log lines, host calls and violations as they happen', async () => {
    const events: SandboxEvent[] = [];
    const result = await sandbox.pool.run({
      executionId: nextExecutionId(),
      agent: testAgent('thetazero.log("one"); await thetazero.read_context("k"); try { await thetazero.http_request("https://x.example") } catch {} thetazero.log("two", "warn")'),
      input: null,
      onEvent: (event) => events.push(event),
    });
    assert.equal(result.status, 'completed');
    assert.deepEqual(
      events.map((e) => e.type),
      ['log', 'host_call', 'host_call', 'violation', 'log'],
    );
    assert.deepEqual(events.filter((e) => e.type === 'log').map((e) => e.line.message), ['one', 'two']);
  });

  it('rejects an invalid request without running it', async () => {
    await assert.rejects(
      sandbox.pool.run({ executionId: -1, agent: testAgent('return 1'), input: null }),
      (err: unknown) => err instanceof AppError && err.code === 'validation_failed',
    );
    await assert.rejects(
      sandbox.pool.run({ executionId: 1, agent: { ...testAgent('return 1'), permissions: ['root' as never] }, input: null }),
      (err: unknown) => err instanceof AppError && err.code === 'validation_failed',
    );
    await assert.rejects(
      sandbox.pool.run({ executionId: 1, agent: testAgent('return 1'), input: { big: 10n } }),
      (err: unknown) => err instanceof AppError && err.code === 'validation_failed',
    );
  });

  it('refuses a trusted CIDR that does not parse, naming the variable', () => {
    assert.throws(
      () => testSandboxPool({ trustedCidrs: ['10.0.0.0/40'] }),
      (err: unknown) => err instanceof ConfigError && /SANDBOX_TRUSTED_CIDRS/.test(err.message),
    );
  });

  describe('terminate', () => {
    afterEach(async () => assertPoolHealthy(sandbox.pool));

    it('stops a guest spinning in a loop at once, with status terminated', async () => {
      const executionId = nextExecutionId();
      const running = sandbox.pool.run({ executionId, agent: testAgent(fixtureCode('endless-loop'), { config: { cpu_time_limit_ms: 20_000 } }), input: null });
      await new Promise((resolve) => setTimeout(resolve, 150));
      const started = performance.now();
      assert.equal(sandbox.pool.terminate(executionId, 'kill switch'), true);
      const result = await running;
      assert.ok(performance.now() - started < 400, 'interrupted in the guest, not by killing the thread');
      assert.deepEqual([result.status, result.error?.code, result.error?.message, result.was_terminated], ['terminated', 'terminated', 'kill switch', true]);
      assert.equal(result.violation_count, 0);
    });

    it('stops a guest waiting on a host call that never answers', async () => {
      const executionId = nextExecutionId();
      const running = sandbox.pool.run({
        executionId,
        agent: testAgent('thetazero.log("waiting"); await thetazero.read_context("never")', { config: { cpu_time_limit_ms: 20_000 } }),
        input: null,
        contextReader: { read: () => new Promise(() => {}) },
      });
      await new Promise((resolve) => setTimeout(resolve, 150));
      sandbox.pool.terminate(executionId);
      const result = await running;
      assert.equal(result.status, 'terminated');
      assert.deepEqual(result.logs.map((l) => l.message), ['waiting']);
      assert.equal(result.host_call_audit[0]!.fn, 'read_context');
    });

    it('drops a run still waiting for a thread', async () => {
      const busy = [1, 2].map(() =>
        sandbox.pool.run({ executionId: nextExecutionId(), agent: testAgent(fixtureCode('endless-loop'), { config: { cpu_time_limit_ms: 400 } }), input: null }),
      );
      const executionId = nextExecutionId();
      const queued = sandbox.pool.run({ executionId, agent: testAgent('return "ran"'), input: null });
      sandbox.pool.terminate(executionId);
      const result = await queued;
      assert.deepEqual([result.status, result.resource_usage.cpu_ms], ['terminated', 0]);
      await Promise.all(busy);
    });

    it('answers false for an execution it does not hold', () => {
      assert.equal(sandbox.pool.terminate(987_654_321), false);
    });
  });

  describe('kill timer', () => {
    // The substitute thread cannot pass the health check: it answers every run with 'answered'.
    const unresponsive = sandboxPoolPerSuite(
      { poolSize: 1, killGraceMs: 100 },
      { threadEntry: UNRESPONSIVE_THREAD, checkHealthAfterEach: false },
    );

    it('kills a thread that does not end its run in time, keeps what it streamed, and replaces it', async () => {
      const started = performance.now();
      const result = await unresponsive.pool.run({
        executionId: nextExecutionId(),
        agent: testAgent('/* BLOCK_THE_THREAD */', { config: { cpu_time_limit_ms: 200 } }),
        input: null,
      });
      const took = performance.now() - started;
      assert.ok(took >= 280 && took < 3000, `took ${took} ms`);
      assert.deepEqual([result.status, result.error?.code, result.was_terminated], ['timed_out', 'cpu_time_limit_exceeded', true]);
      assert.match(result.error!.message, /replaced/);
      assert.deepEqual(result.host_call_audit.map((e) => e.args.key), ['before-block']);
      assert.deepEqual(result.violations.map((v) => v.kind), ['sandbox_limit_hit']);
      const next = await unresponsive.pool.run({ executionId: nextExecutionId(), agent: testAgent('return 1'), input: null });
      assert.deepEqual([next.status, next.output], ['completed', 'answered']);
    });

    it('kills a thread that ignores terminate after the grace period', async () => {
      const executionId = nextExecutionId();
      const running = unresponsive.pool.run({ executionId, agent: testAgent('/* BLOCK_THE_THREAD */', { config: { cpu_time_limit_ms: 20_000 } }), input: null });
      await new Promise((resolve) => setTimeout(resolve, 100));
      unresponsive.pool.terminate(executionId, 'operator kill');
      const result = await running;
      assert.deepEqual([result.status, result.error?.message], ['terminated', 'operator kill']);
    });
  });

  describe('destroy', () => {
    it('ends runs in flight as terminated and refuses new ones', async () => {
      const doomed = testSandboxPool({ poolSize: 1 });
      const running = doomed.run({ executionId: 5, agent: testAgent(fixtureCode('endless-loop'), { config: { cpu_time_limit_ms: 20_000 } }), input: null });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await doomed.destroy();
      assert.equal((await running).status, 'terminated');
      await assert.rejects(doomed.run({ executionId: 6, agent: testAgent('return 1'), input: null }), /shut down/);
    });
  });
});

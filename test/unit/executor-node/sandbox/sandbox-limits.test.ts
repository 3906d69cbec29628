// Every limit: what ends the run, with which status and error code, recorded as which
// violation; then the host must still run a plain execution normally.
import assert from 'node:assert/strict';
import type { SandboxResult } from '../../../../executor-node/sandbox/sandbox-result.ts';
import type { AgentConfigInput } from '../../../../shared/sandbox-templates.ts';
import type { AgentScope } from '../../../../shared/permissions/agent-scopes.ts';
import { fixtureCode, nextExecutionId, sandboxPoolPerSuite, testAgent } from '../../../helpers/sandbox-harness.ts';

function assertEnded(result: SandboxResult, status: SandboxResult['status'], code: string, violation: string | null): void {
  assert.equal(result.status, status, JSON.stringify(result.error));
  assert.equal(result.error?.code, code);
  assert.ok(result.error.message.length > 0);
  if (violation === null) {
    assert.equal(result.violation_count, 0);
  } else {
    const last = result.violations.at(-1)!;
    assert.deepEqual([last.kind, last.code], [violation, code]);
    assert.equal(result.violation_count, result.violations.length);
  }
  assert.equal(result.was_terminated, status === 'timed_out' || status === 'terminated');
}

describe('sandbox limits', function () {
  this.timeout(30_000);
  const sandbox = sandboxPoolPerSuite();

  function run(fixture: string, config: AgentConfigInput = {}, input: unknown = null, permissions?: readonly AgentScope[]) {
    return sandbox.pool.run({ executionId: nextExecutionId(), agent: testAgent(fixtureCode(fixture), { config, permissions }), input });
  }

  describe('time', () => {
    for (const fixture of ['endless-loop', 'microtask-loop', 'async-recursion']) {
      it(`stops ${fixture} at cpu_time_limit_ms with timed_out`, async () => {
        const started = performance.now();
        // Memory to spare, so the deadline and not the heap ends the async recursion.
        const result = await run(fixture, { cpu_time_limit_ms: 300, memory_limit_mb: 256 });
        assertEnded(result, 'timed_out', 'cpu_time_limit_exceeded', 'sandbox_limit_hit');
        assert.ok(performance.now() - started < 2000, 'stopped by the interrupt handler, not the kill timer');
        assert.ok(result.resource_usage.cpu_ms >= 250);
      });
    }
  });

  describe('memory and stack', () => {
    for (const fixture of ['string-doubling', 'array-growth', 'huge-arraybuffer']) {
      it(`stops ${fixture} at memory_limit_mb, even when the agent catches the first failure`, async () => {
        const result = await run(fixture, { memory_limit_mb: 16, cpu_time_limit_ms: 10_000 });
        assertEnded(result, 'limit_exceeded', 'memory_limit_exceeded', 'sandbox_limit_hit');
        assert.ok(result.resource_usage.memory_mb <= 16 + 1, `memory_mb ${result.resource_usage.memory_mb}`);
      });
    }

    it('stops unbounded recursion at the stack limit', async () => {
      assertEnded(await run('deep-recursion'), 'limit_exceeded', 'stack_limit_exceeded', 'sandbox_limit_hit');
    });
  });

  describe('output and logs', () => {
    it('refuses a returned output over the output limit', async () => {
      const result = await run('huge-output', { memory_limit_mb: 64 });
      assertEnded(result, 'limit_exceeded', 'output_too_large', 'sandbox_limit_hit');
      assert.equal(result.output, null);
    });

    it('refuses a written output over the output limit', async () => {
      const result = await run('huge-write-result', { memory_limit_mb: 64 });
      assertEnded(result, 'limit_exceeded', 'output_too_large', 'sandbox_limit_hit');
      assert.equal(result.violations.at(-1)!.fn, 'write_result');
    });

    it('ends the run at the log line limit, keeping the lines written', async () => {
      const result = await run('log-flood');
      assertEnded(result, 'limit_exceeded', 'log_limit_exceeded', 'sandbox_limit_hit');
      assert.equal(result.logs.length, 50);
      assert.equal(result.logs[49]!.message, 'line 49');
    });

    it('ends the run at the log byte limit', async () => {
      const result = await run('log-bytes');
      assertEnded(result, 'limit_exceeded', 'log_limit_exceeded', 'sandbox_limit_hit');
      assert.ok(result.logs.length < 3 && result.logs.every((l) => l.level === 'warn'));
    });

    for (const kind of ['cycle', 'bigint', 'function', 'symbol']) {
      it(`fails a ${kind} output as invalid_output`, async () => {
        const result = await run('non-json-output', {}, { kind });
        assertEnded(result, 'failed', 'invalid_output', null);
        assert.equal(result.output, null);
      });
    }

    it('rejects write_result of a cycle; the agent not catching that fails the run', async () => {
      const result = await run('non-json-output', {}, { kind: 'write-cycle' });
      assertEnded(result, 'failed', 'guest_error', null);
      assert.match(result.error!.message, /JSON-serializable/);
      assert.deepEqual([result.host_call_audit[0]!.allowed, result.host_call_audit[0]!.error], [true, 'invalid_output']);
    });

    it('stops a toJSON that never returns at the deadline', async () => {
      const result = await run('non-json-output', { cpu_time_limit_ms: 300 }, { kind: 'toJSON-loop' });
      assertEnded(result, 'timed_out', 'cpu_time_limit_exceeded', 'sandbox_limit_hit');
    });
  });

  describe('host-call floods', () => {
    it('ends the run past max_host_calls', async () => {
      const result = await run('host-call-flood', { cpu_time_limit_ms: 10_000 });
      assertEnded(result, 'limit_exceeded', 'host_call_limit_exceeded', 'sandbox_limit_hit');
      assert.equal(result.resource_usage.host_calls, 401);
      assert.deepEqual(result.output, { i: 399 });
    });

    it('ends the run when max_api_calls_per_run is spent, auditing the refused call', async () => {
      const result = await run('api-budget', { max_api_calls_per_run: 5 }, null, ['data:read']);
      assertEnded(result, 'limit_exceeded', 'api_call_budget_exhausted', 'sandbox_limit_hit');
      assert.equal(result.resource_usage.api_calls, 5);
      assert.deepEqual(result.host_call_audit.map((e) => e.allowed), [true, true, true, true, true, false]);
      assert.equal(result.host_call_audit[5]!.reason, 'budget_exhausted');
    });

    it('ends the run past the per-minute API call rate with rate_limited', async () => {
      const result = await run('api-budget', { max_api_calls_per_run: 100 }, null, ['data:read']);
      assertEnded(result, 'rate_limited', 'rate_limit_exceeded', 'rate_limit_hit');
      assert.equal(result.resource_usage.api_calls, 30);
    });

    it('ends the run past the pending host call limit', async () => {
      const result = await run('pending-flood', { max_api_calls_per_run: 1000 }, null, ['data:read']);
      assertEnded(result, 'limit_exceeded', 'pending_host_calls_exceeded', 'sandbox_limit_hit');
    });
  });

  describe('input', () => {
    it('refuses an input over the input limit before running anything', async () => {
      const result = await sandbox.pool.run({ executionId: nextExecutionId(), agent: testAgent('return 1'), input: 'x'.repeat(70_000) });
      assertEnded(result, 'limit_exceeded', 'input_too_large', 'sandbox_limit_hit');
      assert.equal(result.resource_usage.cpu_ms, 0);
    });
  });
});

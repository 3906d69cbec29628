import assert from 'node:assert/strict';
import { ExecutionAudit } from '../../../../executor-node/execution/execution-audit.ts';
import type { HostCallAuditEntry, SandboxEvent, SandboxViolation } from '../../../../executor-node/sandbox/sandbox-result.ts';

const context = { accountId: 3, agentId: 40, executionId: 500, actor: 'node:n-1', permissionState: { scopes: ['data:read'] } };
const at = '2026-11-24T22:15:29.769Z';

function call(fn: string, allowed: boolean, reason: string | null = null, args: Record<string, string> = {}): SandboxEvent {
  const entry: HostCallAuditEntry = { seq: 1, fn, args, timestamp: at, allowed, reason, error: null, duration_ms: 0.4 };
  return { type: 'host_call', entry };
}

function violation(kind: SandboxViolation['kind'], code: string, fn: string | null): SandboxEvent {
  return { type: 'violation', violation: { kind, code, message: `${code} happened`, timestamp: at, fn } };
}

function types(audit: ExecutionAudit, events: SandboxEvent[]): Array<[string, boolean] | null> {
  return events.map((e) => {
    const event = audit.eventFor(e);
    return event && [event.action_type, event.is_violation];
  });
}

describe('ExecutionAudit', () => {
  it('records an allowed host call as api_call with the node as actor and the sandbox timestamp', () => {
    const event = new ExecutionAudit(context).eventFor(call('read_context', true, null, { key: 'k' }))!;
    assert.equal(event.action_type, 'api_call');
    assert.equal(event.is_violation, false);
    assert.equal(event.actor, 'node:n-1');
    assert.equal(event.occurred_at, at);
    assert.deepEqual([event.account_id, event.agent_id, event.execution_id], [3, 40, 500]);
    assert.deepEqual(event.permission_state, { scopes: ['data:read'] });
    assert.equal(event.input_summary, '{"fn":"read_context","args":{"key":"k"}}');
  });

  it('records a refused call once: the violation that follows it is not a second event', () => {
    const audit = new ExecutionAudit(context);
    assert.deepEqual(
      types(audit, [call('http_request', false, 'scope_missing'), violation('permission_denied', 'scope_missing', 'http_request')]),
      [['permission_denied', true], null],
    );
  });

  it('types a refusal by its reason: budget exhaustion and rate limiting are not permission refusals', () => {
    const audit = new ExecutionAudit(context);
    assert.deepEqual(
      types(audit, [
        call('read_context', false, 'rate_limited'),
        violation('rate_limit_hit', 'rate_limit_exceeded', 'read_context'),
        call('http_request', false, 'budget_exhausted'),
        violation('sandbox_limit_hit', 'api_call_budget_exhausted', 'http_request'),
      ]),
      [['rate_limit_hit', true], null, ['sandbox_limit_hit', true], null],
    );
  });

  it('records a limit hit with no refused call behind it as a violation of its kind', () => {
    const audit = new ExecutionAudit(context);
    const events = [violation('sandbox_limit_hit', 'cpu_time_limit_exceeded', null), violation('sandbox_limit_hit', 'log_limit_exceeded', 'log')];
    assert.deepEqual(types(audit, events), [['sandbox_limit_hit', true], ['sandbox_limit_hit', true]]);
    assert.match(audit.eventFor(events[0]!)!.description, /^cpu_time_limit_exceeded: /);
  });

  it('does not audit log lines one by one', () => {
    assert.equal(new ExecutionAudit(context).eventFor({ type: 'log', line: { level: 'info', message: 'x', time: at } }), null);
  });

  it('redacts secrets in argument summaries', () => {
    const event = new ExecutionAudit(context).eventFor(call('http_request', true, null, { url: 'https://x.test', authorization: 'Bearer abc' }))!;
    assert.doesNotMatch(event.input_summary!, /abc/);
  });
});

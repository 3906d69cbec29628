import assert from 'node:assert/strict';
import { RunningExecutions } from '../../../../executor-node/execution/running-executions.ts';

describe('RunningExecutions', () => {
  it('finds what a kill signal names: one execution, every run of an agent, every run of an account', () => {
    const running = new RunningExecutions();
    const a = running.add({ executionId: 1, agentId: 10, accountId: 100, jobId: 'e1' });
    const b = running.add({ executionId: 2, agentId: 10, accountId: 100, jobId: 'e2' });
    const c = running.add({ executionId: 3, agentId: 11, accountId: 101, jobId: 'e3' });
    assert.deepEqual(running.matching({ scope: 'execution', executionId: 2, reason: 'r' }), [b]);
    assert.deepEqual(running.matching({ scope: 'agent', agentId: 10, reason: 'r' }), [a, b]);
    assert.deepEqual(running.matching({ scope: 'account', accountId: 101, reason: 'r' }), [c]);
    assert.deepEqual(running.matching({ scope: 'agent', agentId: 99, reason: 'r' }), []);
    assert.deepEqual(running.withJobId('e3'), [c]);
  });

  it('keeps two runs of one execution apart and forgets each when it ends', () => {
    const running = new RunningExecutions();
    const first = running.add({ executionId: 1, agentId: 10, accountId: 100, jobId: 'e1' });
    const second = running.add({ executionId: 1, agentId: 10, accountId: 100, jobId: 'e1' });
    assert.equal(running.matching({ scope: 'execution', executionId: 1, reason: 'r' }).length, 2);
    running.delete(first);
    assert.deepEqual(running.all(), [second]);
    assert.equal(second.stopReason, null);
    assert.equal(second.handBack, null);
  });
});

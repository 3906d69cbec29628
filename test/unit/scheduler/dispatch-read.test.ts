// The intake's dispatch read against real PostgreSQL: only executions still queued, with
// their agent, account and limits, and each agent's context store once (on the agent's
// first execution of the batch), keys in order up to the snapshot budget.
import assert from 'node:assert/strict';
import '../../../scheduler/intake/intake-consumer.ts';
import { declaredStatement, queryPrepared } from '../../../shared/db/prepared-statement.ts';
import { TestSystem, type TestAccount } from '../../helpers/test-system.ts';

interface Row {
  id: number;
  agent_id: number;
  agent_name: string;
  context: Record<string, unknown> | null;
}

describe('intake dispatch read (real PostgreSQL)', function () {
  this.timeout(30_000);
  let system: TestSystem;
  let account: TestAccount;

  before(async () => {
    system = await TestSystem.create('dispatch_read');
    account = await system.createAccount('reader');
  });

  after(async () => {
    await system?.stop();
  });

  const read = (ids: number[], budgetBytes: number) => queryPrepared<Row>(system.db, declaredStatement('intake-dispatch-read')!, [ids, budgetBytes]);
  const setContext = (agentId: number, key: string, value: unknown) =>
    system.db.query(`INSERT INTO agent_context (agent_id, key, value) VALUES ($1, $2, $3::jsonb)`, [agentId, key, JSON.stringify(value)]);

  it('gives each agent its context once, on its first queued execution, and skips executions no longer queued', async () => {
    const withContext = await system.createAgent(account.id, 'with-context');
    const without = await system.createAgent(account.id, 'without-context');
    await setContext(withContext, 'b', { n: 2 });
    await setContext(withContext, 'a', 'one');
    const [first, second, other, done] = [
      await system.queueExecution(account.id, withContext),
      await system.queueExecution(account.id, withContext),
      await system.queueExecution(account.id, without),
      await system.queueExecution(account.id, withContext),
    ];
    await system.db.query(`UPDATE executions SET status = 'completed', finished_at = now() WHERE id = $1`, [done]);

    const rows = await read([first, second, other, done], 1_000_000);
    assert.deepEqual(rows.map((r) => r.id), [first, second, other], 'ordered by id; the ended one left out');
    assert.deepEqual(rows[0]!.context, { a: 'one', b: { n: 2 } });
    assert.equal(rows[1]!.context, null, 'once per agent');
    assert.equal(rows[2]!.context, null, 'an agent without a context store');
    assert.equal(rows[0]!.agent_name, 'with-context');
  });

  it('keeps keys in order up to the budget of JSON text (value and key bytes), and none past it', async () => {
    const agent = await system.createAgent(account.id, 'budgeted');
    // Each entry: key (2 bytes) + value text ("x...x" with quotes: 32 bytes) = 34 bytes.
    for (const key of ['k1', 'k2', 'k3']) await setContext(agent, key, 'x'.repeat(30));
    const id = await system.queueExecution(account.id, agent);
    assert.deepEqual(Object.keys((await read([id], 68))[0]!.context ?? {}), ['k1', 'k2']);
    assert.deepEqual(Object.keys((await read([id], 67))[0]!.context ?? {}), ['k1']);
    assert.equal((await read([id], 33))[0]!.context, null, 'not even the first key fits');
  });
});

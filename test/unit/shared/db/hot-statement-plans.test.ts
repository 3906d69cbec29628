// The statements on every execution's path must find their rows by primary key however
// many executions are unfinished. Planned from their joins alone, PostgreSQL scanned every
// unfinished execution (or the agent's queued ones) and joined them with the batch, so
// under a backlog each final write or dispatch read cost as much as the backlog. These
// plans are checked the way the statements run: prepared, with a generic plan, against
// statistics taken before the backlog built up.
import assert from 'node:assert/strict';
import '../../../../scheduler/intake/intake-consumer.ts';
import '../../../../shared/db/stores/execution-store.ts';
import { declaredStatement } from '../../../../shared/db/prepared-statement.ts';
import { TestSystem } from '../../../helpers/test-system.ts';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function scansOf(node: PlanNode, relation: string): PlanNode[] {
  const own = node['Relation Name'] === relation && node['Node Type'].includes('Scan') ? [node] : [];
  return [...own, ...(node.Plans ?? []).flatMap((child) => scansOf(child, relation))];
}

describe('hot statement plans under a backlog (real PostgreSQL)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  let queued: number[];

  before(async () => {
    system = await TestSystem.create('plans');
    const account = await system.createAccount('plans');
    const agent = await system.createAgent(account.id, 'busy');
    await system.db.query(
      `INSERT INTO executions (account_id, agent_id, status, awaited, input, pool, finished_at) SELECT $1, $2, 'completed', false, '{}', 'standard', now() FROM generate_series(1, 2000)`,
      [account.id, agent],
    );
    await system.db.query('ANALYZE executions');
    const rows = (await system.db.query(
      `INSERT INTO executions (account_id, agent_id, status, awaited, input) SELECT $1, $2, 'queued', false, '{}' FROM generate_series(1, 3000) RETURNING id::float8 AS id`,
      [account.id, agent],
    )) as { id: number }[];
    queued = rows.map((r) => r.id);
  });

  after(async () => {
    await system?.stop();
  });

  async function executionScans(statement: string, args: string): Promise<PlanNode[]> {
    const found = declaredStatement(statement);
    assert.ok(found, `${statement} is declared`);
    const runner = system.db.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('BEGIN');
      await runner.query(`SET LOCAL plan_cache_mode = force_generic_plan`);
      await runner.query(`PREPARE plan_check AS ${found.text}`);
      const [row] = (await runner.query(`EXPLAIN (FORMAT JSON) EXECUTE plan_check${args}`)) as { 'QUERY PLAN': [{ Plan: PlanNode }] }[];
      return scansOf(row!['QUERY PLAN'][0].Plan, 'executions');
    } finally {
      // PREPARE is not transactional: the pooled connection must not keep it.
      await runner.query('ROLLBACK').catch(() => undefined);
      await runner.query('DEALLOCATE plan_check').catch(() => undefined);
      await runner.release();
    }
  }

  const byPrimaryKey = (scans: PlanNode[]) => {
    assert.ok(scans.length > 0);
    for (const scan of scans) assert.equal(scan['Index Name'], 'executions_pkey', `${scan['Node Type']} on executions via ${scan['Index Name'] ?? 'no index'}`);
  };

  it('the final write', async () => {
    byPrimaryKey(await executionScans('executions-finalize', `('[{"ord":0,"id":${queued[0]},"status":"completed","violation_count":0,"was_terminated":false,"events":[]}]')`));
  });

  it('the running mark', async () => {
    byPrimaryKey(await executionScans('executions-mark-running', `('[{"ord":0,"id":${queued[1]},"node_id":"n","at":"2026-01-01T00:00:00Z","attempt":1,"event":{}}]')`));
  });

  it('the dispatched mark', async () => {
    byPrimaryKey(await executionScans('executions-mark-dispatched', `(ARRAY[${queued[2]}]::bigint[], ARRAY['standard'])`));
  });

  it('the dispatch read', async () => {
    byPrimaryKey(await executionScans('intake-dispatch-read', `(ARRAY[${queued[3]}, ${queued[4]}]::bigint[], 1000000)`));
  });
});

// The statements on every execution's path must find their rows by primary key however
// many executions are unfinished. Planned from their joins alone, PostgreSQL scanned every
// unfinished execution (or the agent's queued ones) and joined them with the batch, so
// under a backlog each final write or dispatch read cost as much as the backlog. These
// plans are checked the way the statements run: prepared, with a generic plan, against
// statistics taken before the backlog built up.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import '../../../../scheduler/intake/intake-consumer.ts';
import '../../../../scheduler/recorder/chain-writer.ts';
import '../../../../shared/db/stores/execution-store.ts';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../../../shared/db/data-source.ts';
import { declaredStatement } from '../../../../shared/db/prepared-statement.ts';
import { TestSystem } from '../../../helpers/test-system.ts';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/**
 * The scans of `relation` in a plan, each with the index it reads: a bitmap heap scan
 * reads the index of the bitmap index scan beneath it.
 */
function scansOf(node: PlanNode, relation: string | RegExp): PlanNode[] {
  let own: PlanNode[] = [];
  const name = node['Relation Name'];
  const matches = name !== undefined && (typeof relation === 'string' ? name === relation : relation.test(name));
  if (matches && node['Node Type'].includes('Scan')) {
    const bitmap = node['Node Type'] === 'Bitmap Heap Scan' ? node.Plans?.find((child) => child['Node Type'] === 'Bitmap Index Scan') : undefined;
    own = [bitmap ? { ...node, 'Index Name': bitmap['Index Name'] } : node];
  }
  return [...own, ...(node.Plans ?? []).flatMap((child) => scansOf(child, relation))];
}

/**
 * The plan a session gives a prepared statement once it settles on a generic plan (or, with
 * `custom`, the plan made for these very arguments): the scans of `relation` in it.
 */
async function genericPlanScans(db: DataSource, statement: string, args: string, relation: string | RegExp, custom = false): Promise<PlanNode[]> {
  const found = declaredStatement(statement);
  assert.ok(found, `${statement} is declared`);
  const runner = db.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('BEGIN');
    await runner.query(`SET LOCAL plan_cache_mode = ${custom ? 'force_custom_plan' : 'force_generic_plan'}`);
    await runner.query(`PREPARE plan_check AS ${found.text}`);
    const [row] = (await runner.query(`EXPLAIN (FORMAT JSON) EXECUTE plan_check${args}`)) as { 'QUERY PLAN': [{ Plan: PlanNode }] }[];
    return scansOf(row!['QUERY PLAN'][0].Plan, relation);
  } finally {
    // PREPARE is not transactional: the pooled connection must not keep it.
    await runner.query('ROLLBACK').catch(() => undefined);
    await runner.query('DEALLOCATE plan_check').catch(() => undefined);
    await runner.release();
  }
}

const executionScans = (db: DataSource, statement: string, args: string) => genericPlanScans(db, statement, args, 'executions');

const byPrimaryKey = (scans: PlanNode[]) => {
  assert.ok(scans.length > 0);
  for (const scan of scans) assert.equal(scan['Index Name'], 'executions_pkey', `${scan['Node Type']} on executions via ${scan['Index Name'] ?? 'no index'}`);
};

/** Arguments for each hot statement, about the given executions. */
const finalizeArgs = (id: number) => `('[{"ord":0,"id":${id},"status":"completed","violation_count":0,"was_terminated":false,"events":[]}]')`;
const markRunningArgs = (id: number) => `('[{"ord":0,"id":${id},"node_id":"n","at":"2026-01-01T00:00:00Z","attempt":1,"event":{}}]')`;
const markDispatchedArgs = (id: number) => `(ARRAY[${id}]::bigint[], ARRAY['standard'])`;
const dispatchReadArgs = (a: number, b: number) => `(ARRAY[${a}, ${b}]::bigint[], 1000000)`;

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

  it('the final write', async () => {
    byPrimaryKey(await executionScans(system.db, 'executions-finalize', finalizeArgs(queued[0]!)));
  });

  it('the running mark', async () => {
    byPrimaryKey(await executionScans(system.db, 'executions-mark-running', markRunningArgs(queued[1]!)));
  });

  it('the dispatched mark', async () => {
    byPrimaryKey(await executionScans(system.db, 'executions-mark-dispatched', markDispatchedArgs(queued[2]!)));
  });

  it('the dispatch read', async () => {
    byPrimaryKey(await executionScans(system.db, 'intake-dispatch-read', dispatchReadArgs(queued[3]!, queued[4]!)));
  });
});

// A new deployment: the statements are prepared while the table holds a handful of rows
// and has never been analysed, and that generic plan is kept however large the table grows
// (until statistics change, which never happens where autovacuum is off). The scheduler's
// sessions price sequential scans out (keyedLookupsOnly), so they plan lookups anyway.
describe('hot statement plans on a young, never analysed table (real PostgreSQL)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  let keyed: DataSource;
  let ids: number[];
  let accountId: number;
  let agentId: number;

  before(async () => {
    system = await TestSystem.create('young_plans');
    accountId = (await system.createAccount('young')).id;
    agentId = await system.createAgent(accountId, 'new');
    ids = [];
    for (let i = 0; i < 4; i++) ids.push(await system.queueExecution(accountId, agentId));
    keyed = await openDatabase({ url: system.database.url, poolSize: 1, applicationName: 'tz-test-keyed', keyedLookupsOnly: true });
  });

  after(async () => {
    await keyed?.destroy();
    await system?.stop();
  });

  it('a default session plans the final write as a scan of every execution (why the scheduler does not use one)', async () => {
    const scans = await executionScans(system.db, 'executions-finalize', finalizeArgs(ids[0]!));
    assert.ok(
      scans.some((scan) => scan['Node Type'] === 'Seq Scan'),
      `expected a sequential scan, got ${scans.map((scan) => `${scan['Node Type']} ${scan['Index Name'] ?? ''}`).join(', ')}`,
    );
  });

  it("the scheduler's sessions look every hot statement's executions up by primary key", async () => {
    byPrimaryKey(await executionScans(keyed, 'executions-finalize', finalizeArgs(ids[0]!)));
    byPrimaryKey(await executionScans(keyed, 'executions-mark-running', markRunningArgs(ids[1]!)));
    byPrimaryKey(await executionScans(keyed, 'executions-mark-dispatched', markDispatchedArgs(ids[2]!)));
    byPrimaryKey(await executionScans(keyed, 'intake-dispatch-read', dispatchReadArgs(ids[2]!, ids[3]!)));
  });

  it("the scheduler's sessions keep to the primary key in custom plans for a batch of 1,000 too", async () => {
    // Planned for its very arguments, a large batch on a table never analysed is where the
    // recorder's duplicate check left its index (below); the execution statements must not.
    const more = (await system.db.query(
      `INSERT INTO executions (account_id, agent_id, status, awaited, input) SELECT $1, $2, 'queued', false, '{}' FROM generate_series(1, 30000) RETURNING id::float8 AS id`,
      [accountId, agentId],
    )) as { id: number }[];
    const batch = more.slice(0, 1000).map((r) => r.id);
    const custom = (statement: string, args: string) => genericPlanScans(keyed, statement, args, 'executions', true);
    const finalizeBatch = `('[${batch.map((id, ord) => `{"ord":${ord},"id":${id},"status":"completed","violation_count":0,"was_terminated":false,"events":[]}`).join(',')}]')`;
    const runningBatch = `('[${batch.map((id, ord) => `{"ord":${ord},"id":${id},"node_id":"n","at":"2026-01-01T00:00:00Z","attempt":1,"event":{}}`).join(',')}]')`;
    byPrimaryKey(await custom('executions-finalize', finalizeBatch));
    byPrimaryKey(await custom('executions-mark-running', runningBatch));
    byPrimaryKey(await custom('executions-mark-dispatched', `(ARRAY[${batch.join(',')}]::bigint[], ARRAY[${batch.map(() => `'standard'`).join(',')}])`));
    byPrimaryKey(await custom('intake-dispatch-read', `(ARRAY[${batch.join(',')}]::bigint[], 1000000)`));
  });

  it("the recorder's duplicate check reads each partition's event index, not every record since its time bound", async () => {
    // As the recorder runs it: in its transaction, with sequential scans off.
    const scans = await genericPlanScans(keyed, 'chain-recorded-event-ids', `('{a,b,c}', now() - interval '1 hour')`, /^audit_records_\d{4}_\d{2}$/);
    assert.ok(scans.length > 0);
    for (const scan of scans) assert.match(scan['Index Name'] ?? 'no index', /_event_id_recorded_at_idx$/, `${scan['Node Type']} on ${scan['Relation Name']}`);
  });

  it("the recorder's duplicate check probes the event index for a large batch on a partition never analysed", async () => {
    // 60,000 records of the last hour, no statistics: planned for 800 ids, the check written
    // as `event_id = ANY($1) AND recorded_at >= $2` read every one of them through the
    // account-and-time index.
    await system.db.query(
      `INSERT INTO audit_records (account_id, sequence, recorded_at, event_id, actor, action_type, action_category, description, permission_state, is_violation, prev_hash, hash)
       SELECT $1, g, now() - interval '1 second' * (60000 - g) / 20, gen_random_uuid()::text, 'system', 'api_call', 'execution', 'd', '{}'::jsonb, false, md5(g::text), md5((g + 1)::text)
         FROM generate_series(1, 60000) g`,
      [accountId],
    );
    const ids = Array.from({ length: 800 }, () => randomUUID()).join(',');
    const scans = await genericPlanScans(keyed, 'chain-recorded-event-ids', `('{${ids}}', now() - interval '1 hour')`, /^audit_records_\d{4}_\d{2}$/, true);
    assert.ok(scans.length > 0);
    for (const scan of scans) assert.match(scan['Index Name'] ?? 'no index', /_event_id_recorded_at_idx$/, `${scan['Node Type']} on ${scan['Relation Name']}`);
  });

  it('such a session has sequential scans off', async () => {
    const [row] = (await keyed.query(`SHOW enable_seqscan`)) as { enable_seqscan: string }[];
    assert.equal(row!.enable_seqscan, 'off');
  });
});

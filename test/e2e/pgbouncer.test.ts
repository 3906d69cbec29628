// The product behind a real PgBouncer in transaction mode: the api, scheduler and recorder
// run every statement through a pooler that hands each transaction to whichever of three
// server connections is free. With DB_NAMED_STATEMENTS=off and SCHEDULER_DB_SEQSCAN=default
// executions run and their audit trail is recorded; a scheduler left with its startup
// parameter is refused at start with the setting to change. Pending where PgBouncer is not
// installed (`.ci/run` installs Debian's package).
import assert from 'node:assert/strict';
import type { HttpClient } from '../helpers/http-client.ts';
import { startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.ts';
import { startProcess, type RunningProcess } from '../helpers/processes.ts';
import { TestSystem, type TestAccount } from '../helpers/test-system.ts';
import { waitFor } from '../helpers/wait-for.ts';

const AGENTS = '/api/v1/sdk/agents';
const HELLO = 'await thetazero.write_result({ message: "Hello, " + (input.name || "world") + "!" });';

describe('behind PgBouncer in transaction mode (e2e)', function () {
  this.timeout(120_000);
  let system: TestSystem;
  let bouncer: PgBouncer | null = null;
  let account: TestAccount;
  let api: HttpClient;
  let node: RunningProcess | null = null;
  let env: Record<string, string>;

  before(async function () {
    bouncer = await startPgBouncer({ poolMode: 'transaction', serverConnections: 3 });
    if (!bouncer) {
      console.log('      (pgbouncer is not installed: apt-get install pgbouncer)');
      this.skip();
    }
    system = await TestSystem.create('pgbouncer');
    account = await system.createAccount('pooled');
    env = {
      DATABASE_URL: bouncer.url(system.database.name),
      DB_NAMED_STATEMENTS: 'off',
      SCHEDULER_DB_SEQSCAN: 'default',
      SCHEDULER_SWEEP_INTERVAL_MS: '500',
      SANDBOX_POOL_SIZE: '2',
      AUDIT_RECORDER_LEASE_MS: '1000',
    };
    api = (await system.startApi(env)).withKey(account.adminKey);
    await system.startScheduler(env);
    node = await startProcess('executor-node/main.ts', system.env({ ...env, NODE_ID: 'pooled-node' }), 'executor node started');
  });
  after(async () => {
    await node?.stop();
    await system?.stop();
    await bouncer?.stop();
  });

  it('runs executions synchronously and asynchronously and records their audit trail', async () => {
    const registered = await api.post(AGENTS, { name: 'pooled-hello', status: 'ready', entry_code: HELLO });
    assert.equal(registered.status, 201, registered.text);
    const agent = registered.body.agent.id as number;
    // Many client connections of each process share the pooler's three server connections.
    const sync = await Promise.all(Array.from({ length: 10 }, (_, i) => api.post(`${AGENTS}/${agent}/execute`, { input: { name: `s${i}` } })));
    sync.forEach((res, i) => {
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.status, 'completed');
      assert.deepEqual(res.body.output, { message: `Hello, s${i}!` });
      assert.equal(res.body.pool, 'standard');
    });
    const queued = await Promise.all(Array.from({ length: 20 }, (_, i) => api.post(`${AGENTS}/${agent}/execute?async=true`, { input: { name: `a${i}` } })));
    const ids = [...sync.map((r) => r.body.execution_id as number), ...queued.map((r) => r.body.execution_id as number)];
    for (const [i, res] of queued.entries()) {
      assert.equal(res.status, 202, res.text);
      const done = await waitFor(
        () => api.get(`${AGENTS}/${agent}/executions/${res.body.execution_id}`),
        (r) => r.body?.status === 'completed',
        { timeoutMs: 30_000, what: `execution ${res.body.execution_id}` },
      );
      assert.deepEqual(done.body.output, { message: `Hello, a${i}!` });
    }
    // queued, started, the write_result call and completed: recorded by the recorder through the pooler.
    const recorded = await waitFor(
      async () => (await system.db.query(`SELECT execution_id, count(*)::int AS n FROM audit_records WHERE execution_id = ANY($1::bigint[]) GROUP BY 1`, [ids])) as { n: number }[],
      (rows) => rows.length === ids.length && rows.every((r) => r.n >= 4),
      { timeoutMs: 30_000, what: 'the audit trail of every execution' },
    );
    assert.equal(recorded.length, 30);
  });

  it('refuses at start a scheduler that sends enable_seqscan=off as a startup parameter, naming the setting to change', async () => {
    await assert.rejects(system.startScheduler({ ...env, SCHEDULER_DB_SEQSCAN: 'off' }), (err: Error) => {
      assert.match(err.message, /exited with 1 before ready/);
      assert.match(err.message, /unsupported startup parameter: options/);
      assert.match(err.message, /set SCHEDULER_DB_SEQSCAN=default/);
      return true;
    });
  });
});

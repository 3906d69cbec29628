// Redis killed and restarted under load: no execution is lost or stuck. The system runs
// against a redis-server of this suite's own (append-only file, fsync always), so the
// machine's Redis is never touched.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrivateRedis } from '../helpers/private-redis.ts';
import { runTz, startProcess, type RunningProcess } from '../helpers/processes.ts';
import { TestSystem } from '../helpers/test-system.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('Redis restart under load (e2e)', function () {
  this.timeout(180_000);
  let redis: PrivateRedis;
  let system: TestSystem;
  let node: RunningProcess;

  before(async () => {
    redis = await PrivateRedis.start();
    system = await TestSystem.create('redisrestart', { redisUrl: redis.url });
  });
  after(async () => {
    await node?.stop('SIGKILL');
    await system?.stop();
    await redis?.stop();
  });

  it('ends every execution submitted before, during and after a Redis crash', async () => {
    const account = await system.createAccount('load');
    const env = { SCHEDULER_SWEEP_INTERVAL_MS: '500', EXECUTOR_LOCK_MS: '3000', AUDIT_RECORDER_LEASE_MS: '1000' };
    assert.equal((await runTz(['limits', 'set', '--account', 'load', '--executions-per-minute', '100000', '--concurrency', '10000'], system.env())).code, 0);
    const api = (await system.startApi(env)).withKey(account.adminKey);
    await system.startScheduler(env);
    node = await startProcess('executor-node/main.ts', system.env({ ...env, NODE_ID: 'restart-node' }), 'executor node started');
    const agent = (await api.post('/api/v1/sdk/agents', { name: 'steady', entry_code: 'return input.n * 2;' })).body.agent.id as number;

    const accepted: number[] = [];
    const submit = async (n: number) => {
      const res = await api.post(`/api/v1/sdk/agents/${agent}/execute?async=true`, { input: { n } }).catch(() => null);
      if (res?.status === 202) accepted.push(res.body.execution_id);
    };
    const load = (async () => {
      for (let n = 0; n < 120; n++) {
        await submit(n);
        await sleep(15);
      }
    })();
    await sleep(600);
    await redis.kill('SIGKILL');
    await sleep(700);
    await redis.up();
    await load;

    const unfinished = async () =>
      Number((await system.db.query(`SELECT count(*) AS n FROM executions WHERE agent_id = $1 AND finished_at IS NULL`, [agent]))[0].n);
    await waitFor(unfinished, (n) => n === 0, { timeoutMs: 120_000, intervalMs: 250, what: 'every execution to end' });
    const rows = (await system.db.query(`SELECT id::float8 AS id, status, output FROM executions WHERE agent_id = $1`, [agent])) as { id: number; status: string; output: unknown }[];
    // Every accepted submission exists and has ended; none is pending.
    for (const id of accepted) assert.ok(rows.some((r) => r.id === id), `execution ${id} exists`);
    assert.ok(accepted.length >= 100, `most submissions were accepted (${accepted.length})`);
    const byStatus = rows.reduce<Record<string, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});
    assert.deepEqual(Object.keys(byStatus).filter((s) => !['completed', 'node_lost'].includes(s)), [], JSON.stringify(byStatus));
    assert.ok((byStatus.completed ?? 0) >= rows.length * 0.9, JSON.stringify(byStatus));
  });
});

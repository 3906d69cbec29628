// `npm start` (start.ts) as a user runs it: embedded PostgreSQL when DATABASE_URL is
// unset, an external one when set, and a redis-server from PATH when Redis is down.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProcess, type RunningProcess } from '../helpers/processes.ts';
import { HttpClient } from '../helpers/http-client.ts';
import { createTestDatabase, querySuperuser } from '../helpers/test-database.ts';
import { deleteRedisPrefix, testRedisPrefix } from '../helpers/test-redis.ts';
import { freePort } from '../helpers/free-port.ts';
import { runTz } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait-for.ts';
import pg from 'pg';

function printedKey(proc: RunningProcess): string | undefined {
  return /admin API key[^\n]*\n(tzk_[0-9A-Za-z]{43})/.exec(proc.output())?.[1];
}

describe('npm start (e2e)', function () {
  this.timeout(120_000);
  const prefix = testRedisPrefix('start');
  let dataDir: string;

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tz-start-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await deleteRedisPrefix(prefix);
  });

  describe('with DATABASE_URL unset (embedded PostgreSQL)', () => {
    let pgPort: number;
    let chainPort: number;
    let proc: RunningProcess | undefined;
    before(async () => {
      pgPort = await freePort();
      chainPort = await freePort();
    });
    afterEach(async () => {
      await proc?.stop();
      proc = undefined;
    });

    const env = () => ({
      DATABASE_URL: '',
      DATA_DIR: dataDir,
      LOCAL_POSTGRES_PORT: String(pgPort),
      PORT: '0',
      REDIS_PREFIX: prefix,
      LOCAL_CHAIN_PORT: String(chainPort),
      ANCHOR_INTERVAL_MS: '500',
      ANCHOR_CONFIRMATIONS: '1',
    });

    it('migrates, prints the first admin key once, is ready, and handles concurrent writes', async () => {
      proc = await startProcess('start.ts', env(), 'api listening', 60_000);
      const key = printedKey(proc);
      assert.ok(key, proc.output());
      assert.ok(!/"msg":"[^"]*tzk_[0-9A-Za-z]{43}/.test(proc.output()), 'the key must not appear in a log line');
      const api = new HttpClient(String(proc.ready.url), key);
      assert.equal((await api.get('/readyz')).status, 200);
      // Pooled connections through pglite-socket's multiplexer: concurrent transactions
      // (upserts lock rows) must neither deadlock nor interleave.
      const names = Array.from({ length: 12 }, (_, i) => `agent-${i % 4}`);
      const results = await Promise.all(names.map((name, i) => api.post('/api/v1/sdk/agents', { name, version: `1.0.${i}` })));
      assert.ok(results.every((r) => r.status === 200 || r.status === 201), JSON.stringify(results.map((r) => r.body)));
      assert.equal(results.filter((r) => r.status === 201).length, 4);
      const list = await api.get('/api/v1/sdk/agents');
      assert.equal(list.body.total, 4);
      // A failing transaction rolls back cleanly and the connection stays usable.
      const conflict = await api.patch(`/api/v1/sdk/agents/${list.body.agents[0].id}`, { name: list.body.agents[1].name });
      assert.equal(conflict.status, 409);
      assert.equal((await api.get('/api/v1/sdk/agents')).body.total, 4);
    });

    it('records the audit trail in the embedded database, with its immutability trigger', async () => {
      proc = await startProcess('start.ts', env(), 'api listening', 60_000);
      const key = (await runTz(['keys', 'create', '--account', 'default', '--scopes', 'audit:read,agents:write,executions:run'], { ...env(), PORT: '' })).stdout.trim().split('\n').pop()!;
      const api = new HttpClient(String(proc.ready.url), key);
      await api.post('/api/v1/sdk/agents', { name: 'audited-embedded' });
      // Every role runs in this one process, a node serving both pools: STRICT agents run too.
      const strict = await api.post('/api/v1/sdk/agents', { name: 'strict-embedded', entry_code: 'return "ran strict";', config: { sandbox_template: 'STRICT' } });
      const run = await api.post(`/api/v1/sdk/agents/${strict.body.agent.id}/execute`, { input: {} });
      assert.equal(run.body.status, 'completed', JSON.stringify(run.body));
      assert.equal(run.body.output, 'ran strict');
      assert.equal(run.body.pool, 'tee');
      const audit = await waitFor(() => api.get('/api/v1/sdk/audit?actionTypes=agent_created&limit=1000'), (r) => r.body?.events?.some((e: { description: string }) => e.description.includes('audited-embedded')), { what: 'the agent_created record' });
      assert.equal(audit.status, 200);
      const verify = await api.get(`/api/v1/sdk/audit/${audit.body.events[0].id}/verify`);
      assert.equal(verify.body.chain_valid, true);
      // CHAIN_RPC_URL unset: a local anvil under DATA_DIR, anchored to with the dev key.
      assert.match(proc.output(), new RegExp(`"url":"http://127\\.0\\.0\\.1:${chainPort}"[^\\n]*"msg":"local chain \\(anvil\\) listening"`));
      assert.match(proc.output(), /public dev key: development only/);
      const anchored = await waitFor(() => api.get(`/api/v1/sdk/audit/${audit.body.events[0].id}/verify`), (r) => r.body?.anchored === true, { what: 'the record anchored on the local chain', timeoutMs: 30_000 });
      assert.equal(anchored.body.inclusion_valid, true);
      assert.equal(anchored.body.chain_id, 31337);
      const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${pgPort}/postgres` });
      await client.connect();
      try {
        await assert.rejects(client.query(`UPDATE audit_records SET description = 'edited'`), /append-only/);
        await assert.rejects(client.query(`DELETE FROM audit_records`), /append-only/);
      } finally {
        await client.end();
      }
    });

    it('keeps its data across restarts and prints no second key', async () => {
      proc = await startProcess('start.ts', env(), 'api listening', 60_000);
      assert.equal(printedKey(proc), undefined);
      const api = new HttpClient(String(proc.ready.url));
      assert.equal((await api.get('/readyz')).status, 200);
    });
  });

  describe('with DATABASE_URL set', () => {
    it('migrates the external database and serves /readyz', async () => {
      const db = await createTestDatabase('start');
      const proc = await startProcess('start.ts', { DATABASE_URL: db.url, DATA_DIR: dataDir, PORT: '0', REDIS_PREFIX: prefix, LOCAL_CHAIN_PORT: String(await freePort()) }, 'api listening');
      try {
        assert.ok(printedKey(proc));
        const ready = await new HttpClient(String(proc.ready.url)).get('/readyz');
        assert.equal(ready.status, 200);
        // The scheduler role has sessions of its own, opened with sequential scans off.
        const sessions = await querySuperuser<{ application_name: string }>(
          db.url,
          `SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'tz-all-in-one%' ORDER BY 1`,
        );
        assert.deepEqual(sessions.rows.map((s) => s.application_name), ['tz-all-in-one', 'tz-all-in-one-scheduler']);
      } finally {
        await proc.stop();
        await db.drop();
      }
    });
  });

  describe('with no Redis reachable', () => {
    it('starts redis-server from PATH on the REDIS_URL port', async () => {
      const db = await createTestDatabase('start_redis');
      const redisPort = await freePort();
      const proc = await startProcess(
        'start.ts',
        { DATABASE_URL: db.url, DATA_DIR: dataDir, PORT: '0', REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_PREFIX: prefix, LOCAL_CHAIN_PORT: String(await freePort()) },
        'api listening',
      );
      try {
        assert.match(proc.output(), /started redis-server from PATH/);
        const ready = await new HttpClient(String(proc.ready.url)).get('/readyz');
        assert.deepEqual(ready.body.checks.redis, { ok: true });
      } finally {
        await proc.stop();
        await db.drop();
      }
    });

    it('exits with one line saying how to get Redis when redis-server is not on PATH', async () => {
      const redisPort = await freePort();
      await assert.rejects(
        startProcess('start.ts', { PATH: '/nonexistent', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', PORT: '0', REDIS_URL: `redis://127.0.0.1:${redisPort}` }, 'api listening', 20_000),
        (err: Error) => /redis-server is not on PATH: install Redis/.test(err.message) && /exited with 1/.test(err.message),
      );
    });
  });
});

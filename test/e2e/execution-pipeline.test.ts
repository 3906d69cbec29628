// The execution pipeline end to end, with real processes: two api processes, a
// scheduler and two executor nodes, against the machine's PostgreSQL and Redis.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { redisKeys } from '../../shared/redis/keys.ts';
import type { HttpClient } from '../helpers/http-client.ts';
import { runTz, startProcess, type RunningProcess } from '../helpers/processes.ts';
import { TestSystem, type TestAccount } from '../helpers/test-system.ts';
import { waitFor } from '../helpers/wait-for.ts';

const AGENTS = '/api/v1/sdk/agents';
const HELLO = 'await thetazero.write_result({ message: "Hello, " + (input.name || "world") + "!" });';
const FINAL = ['completed', 'failed', 'timed_out', 'terminated', 'limit_exceeded', 'rate_limited', 'halted', 'node_lost'];

describe('execution pipeline (e2e)', function () {
  this.timeout(180_000);
  let system: TestSystem;
  let api: HttpClient;
  let api2: HttpClient;
  let alice: TestAccount;
  let bob: TestAccount;
  let a: HttpClient;
  let b: HttpClient;
  const nodes: RunningProcess[] = [];
  const env = { SCHEDULER_SWEEP_INTERVAL_MS: '500', EXECUTOR_LOCK_MS: '2000', SANDBOX_POOL_SIZE: '2', AUDIT_RECORDER_LEASE_MS: '1000' };

  async function startNode(nodeId: string): Promise<RunningProcess> {
    const proc = await startProcess('executor-node/main.ts', system.env({ ...env, NODE_ID: nodeId }), 'executor node started');
    nodes.push(proc);
    return proc;
  }

  async function register(client: HttpClient, body: Record<string, unknown>): Promise<number> {
    const res = await client.post(AGENTS, { status: 'ready', ...body });
    assert.ok(res.status === 201 || res.status === 200, res.text);
    return res.body.agent.id;
  }

  async function finished(client: HttpClient, agentId: number, executionId: number) {
    const res = await waitFor(
      () => client.get(`${AGENTS}/${agentId}/executions/${executionId}`),
      (r) => FINAL.includes(r.body?.status),
      { timeoutMs: 60_000, what: `execution ${executionId} to end` },
    );
    return res.body;
  }

  before(async () => {
    system = await TestSystem.create('pipeline');
    alice = await system.createAccount('alice');
    bob = await system.createAccount('bob');
    api = await system.startApi(env);
    api2 = await system.startApi(env);
    await system.startScheduler(env);
    await startNode('node-one');
    await startNode('node-two');
    a = api.withKey(alice.adminKey);
    b = api.withKey(bob.adminKey);
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    await system?.stop();
  });

  describe('running agents', () => {
    let hello: number;
    before(async () => {
      hello = await register(a, { name: 'hello-world', entry_code: HELLO });
    });

    it('runs the product page hello-world synchronously', async () => {
      const res = await a.post(`${AGENTS}/${hello}/execute`, { input: { name: 'Alice' } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.status, 'completed');
      assert.deepEqual(res.body.output, { message: 'Hello, Alice!' });
      assert.equal(typeof res.body.execution_id, 'number');
      for (const f of ['resource_usage', 'host_call_audit', 'violation_count', 'was_terminated', 'logs', 'node_id', 'started_at', 'finished_at']) assert.ok(f in res.body, f);
      assert.equal(res.body.was_terminated, false);
      assert.match(res.body.node_id, /^node-(one|two)$/);
      assert.equal(res.body.pool, 'standard');
    });

    it("records each execution's pool, also when the run ends before the scheduler's dispatch mark", async () => {
      // Warm runs end well within the mark's delay (MARK_DELAY_MS).
      for (let i = 0; i < 5; i++) {
        const res = await a.post(`${AGENTS}/${hello}/execute`, { input: {} });
        assert.equal(res.body.pool, 'standard', `run ${i}`);
        assert.equal((await a.get(`${AGENTS}/${hello}/executions/${res.body.execution_id}`)).body.pool, 'standard', `run ${i}`);
      }
    });

    it('runs asynchronously with ?async=true and with Prefer: respond-async', async () => {
      const first = await a.post(`${AGENTS}/${hello}/execute?async=true`, { input: { name: 'Bob' } });
      assert.equal(first.status, 202);
      assert.equal(first.body.status, 'queued');
      assert.match(first.body.poll_url, new RegExp(`/executions/${first.body.execution_id}$`));
      const second = await a.post(`${AGENTS}/${hello}/execute`, { input: {} }, { headers: { prefer: 'respond-async' } });
      assert.equal(second.status, 202);
      assert.deepEqual((await finished(a, hello, first.body.execution_id)).output, { message: 'Hello, Bob!' });
      assert.deepEqual((await finished(a, hello, second.body.execution_id)).output, { message: 'Hello, world!' });
    });

    it('lists history newest first with a status filter, and shows one execution in full', async () => {
      const list = await a.get(`${AGENTS}/${hello}/executions?limit=2`);
      assert.equal(list.status, 200);
      assert.equal(list.body.executions.length, 2);
      assert.ok(list.body.executions[0].execution_id > list.body.executions[1].execution_id);
      assert.ok(list.body.total >= 3);
      const completed = await a.get(`${AGENTS}/${hello}/executions?status=completed`);
      assert.ok(completed.body.executions.every((e: { status: string }) => e.status === 'completed'));
      const detail = await a.get(`${AGENTS}/${hello}/executions/${list.body.executions[0].execution_id}`);
      assert.ok(Array.isArray(detail.body.host_call_audit));
      assert.ok(detail.body.queued_at && detail.body.finished_at);
      assert.equal((await b.get(`${AGENTS}/${hello}/executions/${list.body.executions[0].execution_id}`)).status, 404);
      assert.equal((await b.get(`${AGENTS}/${hello}/executions`)).status, 404);
      assert.equal((await b.post(`${AGENTS}/${hello}/execute`, { input: {} })).status, 404);
    });

    it('records the execution in the audit trail, with the node as actor of its host calls', async () => {
      const reader = await register(a, { name: 'context-reader', entry_code: 'return await thetazero.read_context("k");' });
      await a.put(`${AGENTS}/${reader}/context/k`, { value: { v: 1 } });
      const res = await a.post(`${AGENTS}/${reader}/execute`, { input: {} });
      assert.deepEqual(res.body.output, { v: 1 });
      const events = await waitFor(
        () => a.get(`/api/v1/sdk/audit?executionId=${res.body.execution_id}`),
        (r) => r.body.events.some((e: { action_type: string }) => e.action_type === 'execution_completed'),
        { what: 'the execution audit events' },
      );
      const types = events.body.events.map((e: { action_type: string }) => e.action_type);
      for (const t of ['execution_queued', 'execution_started', 'api_call', 'execution_completed']) assert.ok(types.includes(t), `${t} in ${types}`);
      const call = events.body.events.find((e: { action_type: string }) => e.action_type === 'api_call');
      assert.match(call.actor, /^node:node-(one|two)$/);
    });
  });

  describe('kill switch and halts', () => {
    it('terminates a running execution on kill, ends queued ones unrun, and refuses new ones until resumed', async () => {
      const spinner = await register(a, { name: 'spinner', entry_code: 'while (true) {}', config: { cpu_time_limit_ms: 120000 } });
      const running = await a.post(`${AGENTS}/${spinner}/execute?async=true`, { input: {} });
      await waitFor(() => a.get(`${AGENTS}/${spinner}/executions/${running.body.execution_id}`), (r) => r.body.status === 'running', { what: 'the spinner to run' });
      // Another account cannot kill it: 404, and the run goes on.
      const foreign = await b.post(`/api/sdk/agents/${spinner}/kill`, { reason: 'not mine' });
      assert.equal(foreign.status, 404);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await a.get(`${AGENTS}/${spinner}/executions/${running.body.execution_id}`)).body.status, 'running');
      const kill = await a.post(`/api/sdk/agents/${spinner}/kill`, { reason: 'Suspicious output detected' });
      assert.equal(kill.status, 200);
      assert.equal(kill.body.agent.status, 'halted');
      const ended = await finished(a, spinner, running.body.execution_id);
      assert.equal(ended.status, 'terminated');
      assert.equal(ended.was_terminated, true);
      const refused = await a.post(`${AGENTS}/${spinner}/execute`, { input: {} });
      assert.equal(refused.status, 409);
      assert.equal(refused.body.error.code, 'agent_halted');
      const audit = await waitFor(() => a.get(`/api/v1/sdk/audit?agentId=${spinner}&actionTypes=kill`), (r) => r.body.events?.length >= 1, { what: 'the kill audit record' });
      assert.match(audit.body.events[0].description, /Suspicious output detected/);
      // Resume by setting the status back to ready.
      const resumed = await a.patch(`${AGENTS}/${spinner}`, { status: 'ready', entry_code: 'return 1;' });
      assert.equal(resumed.body.agent.status, 'ready');
      assert.equal((await a.post(`${AGENTS}/${spinner}/execute`, { input: {} })).body.output, 1);
    });

    it('halts and resumes a whole account with the global kill switch', async () => {
      const agent = await register(b, { name: 'global-target', entry_code: 'return 2;' });
      assert.equal((await api2.withKey(bob.adminKey).post(`${AGENTS}/${agent}/execute`, { input: {} })).body.output, 2);
      const halt = await b.post('/api/sdk/kill-switch/global', { halted: true, reason: 'Emergency maintenance' });
      assert.deepEqual(halt.body, { success: true, halted: true, reason: 'Emergency maintenance' });
      const refused = await b.post(`${AGENTS}/${agent}/execute`, { input: {} });
      assert.equal(refused.status, 409);
      assert.equal(refused.body.error.code, 'account_halted');
      // The other api process had the account cached as not halted: the halt evicted it there too.
      const bOnApi2 = api2.withKey(bob.adminKey);
      assert.equal((await bOnApi2.post(`${AGENTS}/${agent}/execute`, { input: {} })).body.error.code, 'account_halted');
      // Other accounts are untouched.
      const other = await register(a, { name: 'unaffected', entry_code: 'return 3;' });
      assert.equal((await a.post(`${AGENTS}/${other}/execute`, { input: {} })).body.output, 3);
      await b.post('/api/sdk/kill-switch/global', { halted: false });
      assert.equal((await b.post(`${AGENTS}/${agent}/execute`, { input: {} })).body.output, 2);
      assert.equal((await bOnApi2.post(`${AGENTS}/${agent}/execute`, { input: {} })).body.output, 2);
    });

    it('halts every account from the CLI', async () => {
      const agent = await register(b, { name: 'cli-halt', entry_code: 'return 4;' });
      const halted = await runTz(['halt', '--all', '--reason', 'operator drill'], system.env());
      assert.equal(halted.code, 0, halted.stderr);
      assert.equal((await b.post(`${AGENTS}/${agent}/execute`, { input: {} })).body.error.code, 'account_halted');
      assert.equal((await runTz(['resume', '--all'], system.env())).code, 0);
      assert.equal((await b.post(`${AGENTS}/${agent}/execute`, { input: {} })).body.output, 4);
      assert.equal((await runTz(['halt', '--all'], system.env())).code, 2, 'a halt needs a reason');
    });
  });

  describe('rate limits', () => {
    it('enforces the swarm limit set with tz limits, ending the excess rate_limited with a violation', async () => {
      const set = await runTz(['limits', 'set', '--account', 'alice', '--swarm', 'crawlers', '--executions-per-hour', '2'], system.env());
      assert.equal(set.code, 0, set.stderr);
      const shown = await runTz(['limits', 'show', '--account', 'alice'], system.env());
      assert.match(shown.stdout, /swarm crawlers: executions per hour 2/);
      const one = await register(a, { name: 'crawler-a', swarm: 'crawlers', entry_code: 'return 1;' });
      const two = await register(a, { name: 'crawler-b', swarm: 'crawlers', entry_code: 'return 1;' });
      const results: { body: any }[] = [];
      for (const agent of [one, two, one]) results.push(await a.post(`${AGENTS}/${agent}/execute`, { input: {} }));
      assert.deepEqual(results.map((r) => r.body.status), ['completed', 'completed', 'rate_limited']);
      assert.equal(results[2]!.body.error.code, 'swarm_rate_limited');
      const audit = await waitFor(() => a.get(`/api/v1/sdk/audit?executionId=${results[2]!.body.execution_id}&actionTypes=rate_limit_hit`), (r) => r.body.events?.length === 1, { what: "the rate_limit_hit record" });
      assert.equal(audit.body.events[0].is_violation, true);
      // Agents without a swarm are not subject to the swarm limit.
      const loner = await register(a, { name: 'loner', entry_code: 'return 1;' });
      for (let i = 0; i < 3; i++) assert.equal((await a.post(`${AGENTS}/${loner}/execute`, { input: {} })).body.status, 'completed');
      assert.equal((await runTz(['limits', 'set', '--account', 'alice', '--concurrency', '0'], system.env())).code, 2);
    });
  });

  describe('live progress over WebSocket', () => {
    it('streams status, log, host_call and result frames of a subscribed agent, across api processes', async () => {
      const agent = await register(a, { name: 'chatty', entry_code: 'thetazero.log("working"); await thetazero.read_context("x"); return "done";' });
      const ws = new WebSocket(`${api2.baseUrl.replace('http', 'ws')}/api/v1/sdk/ws`, { headers: { authorization: `Bearer ${alice.adminKey}` } });
      const frames: any[] = [];
      ws.on('message', (data) => frames.push(JSON.parse(String(data))));
      await waitFor(async () => frames, (f) => f.some((x) => x.type === 'authenticated'), { what: 'authentication' });
      ws.send(JSON.stringify({ type: 'subscribe', agentId: agent }));
      await waitFor(async () => frames, (f) => f.some((x) => x.type === 'subscribed'), { what: 'subscription' });
      const res = await a.post(`${AGENTS}/${agent}/execute`, { input: {} });
      await waitFor(async () => frames, (f) => f.some((x) => x.type === 'result'), { what: 'the result frame' });
      const mine = frames.filter((f) => f.executionId === res.body.execution_id);
      const types = mine.map((f) => f.type);
      for (const t of ['status', 'log', 'host_call', 'result']) assert.ok(types.includes(t), `${t} in ${types}`);
      assert.equal(mine.find((f) => f.type === 'log').message, 'working');
      assert.equal(mine.find((f) => f.type === 'result').status, 'completed');
      // Tenant isolation and bad frames.
      ws.send(JSON.stringify({ type: 'subscribe', agentId: 999_999 }));
      ws.send('not json');
      ws.send(JSON.stringify({ type: 'subscribe' }));
      await waitFor(async () => frames.filter((f) => f.type === 'error'), (e) => e.length >= 3, { what: 'error frames' });
      assert.deepEqual(frames.filter((f) => f.type === 'error').map((f) => f.code), ['not_found', 'invalid_json', 'validation_failed']);
      ws.close();
    });

    it('authenticates with a first message, and closes a connection that never authenticates correctly', async () => {
      const ws = new WebSocket(`${api.baseUrl.replace('http', 'ws')}/api/v1/sdk/ws`);
      const frames: any[] = [];
      ws.on('message', (data) => frames.push(JSON.parse(String(data))));
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ type: 'subscribe', agentId: 1 }));
      ws.send(JSON.stringify({ type: 'auth', apiKey: alice.adminKey }));
      await waitFor(async () => frames, (f) => f.some((x) => x.type === 'authenticated'), { what: 'authentication' });
      assert.equal(frames[0].code, 'unauthenticated');
      ws.close();
      const bad = new WebSocket(`${api.baseUrl.replace('http', 'ws')}/api/v1/sdk/ws`, { headers: { authorization: 'Bearer tzk_nope' } });
      const code = await new Promise<number>((r) => bad.once('close', (c) => r(c)));
      assert.equal(code, 4401);
    });

    describe('subscriptions to account channels', () => {
      let observer: Redis;
      before(() => {
        observer = new Redis(system.redisUrl);
      });
      after(() => observer?.disconnect());

      const channelOf = (account: TestAccount) => redisKeys(system.redisPrefix).progressChannel(account.id);
      /** Plain subscribers of the channel, over every api process. */
      const numsub = async (account: TestAccount) => Number(((await observer.call('PUBSUB', 'NUMSUB', channelOf(account))) as [string, number])[1]);
      /** Connections a frame on the channel reaches, pattern subscribers included (a frame without ids reaches no client). */
      const receivers = (account: TestAccount) => observer.publish(channelOf(account), '{}');

      async function connect(client: HttpClient, key: string): Promise<{ ws: WebSocket; frames: any[] }> {
        const ws = new WebSocket(`${client.baseUrl.replace('http', 'ws')}/api/v1/sdk/ws`, { headers: { authorization: `Bearer ${key}` } });
        const frames: any[] = [];
        ws.on('message', (data) => frames.push(JSON.parse(String(data))));
        await waitFor(async () => frames, (f) => f.some((x) => x.type === 'authenticated'), { what: 'authentication' });
        return { ws, frames };
      }

      it('subscribes an api process to an account channel only while a client of that account is connected to it', async () => {
        // Connections of the tests above may still be closing.
        await waitFor(() => numsub(alice), (n) => n === 0, { what: 'no subscriber of the channel' });
        assert.equal(await receivers(alice), 0, 'no api process receives the frames of an account without clients');
        const { ws } = await connect(api2, alice.adminKey);
        // Subscribed before `authenticated` was sent: no polling.
        assert.equal(await numsub(alice), 1);
        assert.equal(await receivers(alice), 1, 'only the process the client is connected to receives the frames');
        assert.equal(await numsub(bob), 0);
        ws.close();
        await waitFor(() => numsub(alice), (n) => n === 0, { what: 'the unsubscribe after the last client left' });
        assert.equal(await receivers(alice), 0);
      });

      it('keeps delivering to the other clients of an account when one of them leaves', async () => {
        const agent = await register(a, { name: 'two-watchers', entry_code: 'thetazero.log("seen"); return 5;' });
        const [first, second] = await Promise.all([connect(api, alice.adminKey), connect(api, alice.adminKey)]);
        assert.equal(await numsub(alice), 1, 'both clients share one subscription');
        for (const { ws, frames } of [first, second]) {
          ws.send(JSON.stringify({ type: 'subscribe', agentId: agent }));
          await waitFor(async () => frames, (f) => f.some((x) => x.type === 'subscribed'), { what: 'subscription' });
        }
        first.ws.close();
        await new Promise((r) => first.ws.once('close', r));
        const res = await a.post(`${AGENTS}/${agent}/execute`, { input: {} });
        assert.equal(res.body.output, 5);
        await waitFor(async () => second.frames, (f) => f.some((x) => x.type === 'result' && x.executionId === res.body.execution_id), { what: 'the result frame' });
        const mine = second.frames.filter((f) => f.executionId === res.body.execution_id);
        assert.equal(mine.find((f) => f.type === 'log').message, 'seen');
        assert.equal(first.frames.filter((f) => f.executionId === res.body.execution_id).length, 0);
        assert.equal(await numsub(alice), 1);
        second.ws.close();
        await waitFor(() => numsub(alice), (n) => n === 0, { what: 'the unsubscribe after the last client left' });
      });
    });
  });

  describe('failures', () => {
    it('retries an execution elsewhere, or ends it node_lost, when its node is killed mid-run', async () => {
      const agent = await register(a, { name: 'slow', entry_code: 'const end = Date.now() + 1500; while (Date.now() < end) {} return "survived";', config: { cpu_time_limit_ms: 20000 } });
      const started = await a.post(`${AGENTS}/${agent}/execute?async=true`, { input: {} });
      const running = await waitFor(() => a.get(`${AGENTS}/${agent}/executions/${started.body.execution_id}`), (r) => r.body.status === 'running', { what: 'the run to start' });
      const victim = nodes.find((n) => n.ready.nodeId === running.body.node_id) ?? nodes.find((n) => String(n.output()).includes(`"nodeId":"${running.body.node_id}"`));
      assert.ok(victim, `node ${running.body.node_id} is one of ours`);
      await victim.stop('SIGKILL');
      const ended = await finished(a, agent, started.body.execution_id);
      assert.ok(['completed', 'node_lost'].includes(ended.status), ended.status);
      if (ended.status === 'completed') {
        assert.equal(ended.output, 'survived');
        assert.ok(ended.attempts >= 2);
        assert.notEqual(ended.node_id, running.body.node_id);
      }
      await startNode(`node-three`);
    });

    it('answers bad input with 4xx errors and writes nothing', async () => {
      const agent = await register(a, { name: 'bad-input-target', entry_code: 'return 1;' });
      const count = async () => (await system.db.query('SELECT count(*)::int AS n FROM executions WHERE agent_id = $1', [agent]))[0].n;
      const before = await count();
      const cases: [Promise<{ status: number; body: any }>, number, string][] = [
        [a.post(`${AGENTS}/${agent}/execute`, { input: {}, extra: 1 }), 400, 'validation_failed'],
        [a.post(`${AGENTS}/${agent}/execute`, { input: 'x'.repeat(1_100_000) }), 400, 'validation_failed'],
        [a.request('POST', `${AGENTS}/${agent}/execute`, { rawBody: '{', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json'],
        [a.post(`${AGENTS}/abc/execute`, { input: {} }), 400, 'validation_failed'],
        [a.post(`${AGENTS}/${agent}/execute?async=maybe`, { input: {} }), 400, 'validation_failed'],
        [a.post(`${AGENTS}/999999/execute`, { input: {} }), 404, 'not_found'],
        [a.get(`${AGENTS}/${agent}/executions?status=sleeping`), 400, 'validation_failed'],
        [a.get(`${AGENTS}/${agent}/executions/xyz`), 400, 'validation_failed'],
        [a.post('/api/sdk/agents/999999/kill', { reason: 'x' }), 404, 'not_found'],
        [a.post('/api/sdk/kill-switch/global', { reason: 'x' }), 400, 'validation_failed'],
        [a.post('/api/sdk/kill-switch/global', { halted: 'yes' }), 400, 'validation_failed'],
        [a.post(`/api/sdk/agents/${agent}/kill`, { reason: 'r'.repeat(1001) }), 400, 'validation_failed'],
        [a.post(`/api/sdk/agents/${agent}/kill`, { reason: 'x', scope: 'all' }), 400, 'validation_failed'],
        [a.get(`${AGENTS}/${agent}/executions?page=0`), 400, 'validation_failed'],
        [a.get(`${AGENTS}/${agent}/executions?limit=101`), 400, 'validation_failed'],
        [a.get(`${AGENTS}/${agent}/executions?limit=ten`), 400, 'validation_failed'],
        [a.get(`${AGENTS}/${agent}/executions/999999999`), 404, 'not_found'],
        [api.withKey(alice.adminKey).post(`${AGENTS}/${agent}/execute`, { input: {} }, { headers: { authorization: 'Bearer nope' } }), 401, 'unauthenticated'],
      ];
      for (const [call, status, code] of cases) {
        const res = await call;
        assert.equal(res.status, status, JSON.stringify(res.body));
        assert.equal(res.body.error.code, code);
      }
      const readOnly = api.withKey(await system.createKey(alice.id, ['agents:read', 'executions:read']));
      const denied = await readOnly.post(`${AGENTS}/${agent}/execute`, { input: {} });
      assert.equal(denied.status, 403);
      assert.equal(denied.body.error.details.required_scope, 'executions:run');
      assert.equal((await readOnly.post(`/api/sdk/agents/${agent}/kill`, {})).body.error.details.required_scope, 'kill');
      assert.equal(await count(), before);
      // The refused kills halted nothing.
      assert.equal((await a.get(`${AGENTS}/${agent}`)).body.agent.status, 'ready');
      const disabled = await register(a, { name: 'disabled-agent', entry_code: 'return 1;', status: 'disabled' });
      assert.equal((await a.post(`${AGENTS}/${disabled}/execute`, { input: {} })).body.error.code, 'agent_disabled');
    });
  });
});

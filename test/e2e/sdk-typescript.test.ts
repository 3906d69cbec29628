// The TypeScript SDK (@thetazero/agent-sdk, as built into sdk/typescript/dist) against a
// real system: an api, a scheduler and an executor node.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { ROOT, startProcess, type RunningProcess } from '../helpers/processes.ts';
import { TestSystem, type TestAccount } from '../helpers/test-system.ts';
import { waitFor } from '../helpers/wait-for.ts';

type Sdk = typeof import('../../sdk/typescript/src/index.ts');
type StreamEvent = import('../../sdk/typescript/src/index.ts').StreamEvent;
type ProgressEvent = import('../../sdk/typescript/src/index.ts').ProgressEvent;

const PKG = path.join(ROOT, 'sdk/typescript');
const QUICKSTART_CODE = `
const rows = input.data.users;
const churned = rows.filter((u) => u.churned);
await thetazero.log("analyzing " + rows.length + " users");
return { task: input.task, users: rows.length, churned: churned.length, topRisk: churned.map((u) => u.reason).slice(0, 3) };
`;
const BUSY = (ms: number) => `const t = Date.now(); while (Date.now() - t < ${ms}) {} await thetazero.log("done"); return { waited: ${ms} };`;
const churnDataset = [
  { id: 1, churned: true, reason: 'price' },
  { id: 2, churned: false, reason: null },
  { id: 3, churned: true, reason: 'support' },
];

describe('TypeScript SDK (e2e)', function () {
  this.timeout(120_000);
  let system: TestSystem;
  let account: TestAccount;
  let baseUrl: string;
  let sdk: Sdk;
  let node: RunningProcess | undefined;
  const env = { SCHEDULER_SWEEP_INTERVAL_MS: '500', SANDBOX_POOL_SIZE: '2', AUDIT_RECORDER_LEASE_MS: '1000', AUDIT_STREAM_MAX_AGE_MS: '4000' };

  before(async () => {
    sdk = (await import(pathToFileURL(path.join(PKG, 'dist/index.mjs')).href)) as Sdk;
    system = await TestSystem.create('sdkts');
    account = await system.createAccount('sdk');
    baseUrl = (await system.startApi(env)).baseUrl;
    await system.startScheduler(env);
    node = await startProcess('executor-node/main.ts', system.env({ ...env, NODE_ID: 'sdk-ts-node' }), 'executor node started');
  });
  after(async () => {
    await node?.stop('SIGKILL');
    await system?.stop();
  });

  const agentWith = (opts: Partial<ConstructorParameters<Sdk['SecureAgent']>[0]> = {}) =>
    new sdk.SecureAgent({ apiKey: account.adminKey, baseUrl, ...opts });

  describe('Quick Start', () => {
    it('configures with the product page options and runs entry code that reads input.task and input.data', async () => {
      const agent = agentWith({
        name: 'churn-analyst',
        entryCode: QUICKSTART_CODE,
        permissions: sdk.SecureAgent.permissions.CODER,
        limits: { maxMemoryMb: 512, maxExecutionTimeSec: 300 },
        sandbox: 'STANDARD',
      });
      const record = await agent.configure();
      assert.equal(record.config.memory_limit_mb, 512);
      assert.equal(record.config.cpu_time_limit_ms, 300_000);
      assert.equal(record.config.sandbox_template, 'STANDARD');
      assert.deepEqual(record.permissions, [...sdk.SecureAgent.permissions.CODER].sort());
      assert.equal(record.status, 'ready');

      const result = await agent.run({ task: 'Analyze the user churn data and identify top 3 risk factors', data: { users: churnDataset } });
      assert.equal(result.status, 'completed', JSON.stringify(result.error));
      assert.deepEqual(result.output, { task: 'Analyze the user churn data and identify top 3 risk factors', users: 3, churned: 2, topRisk: ['price', 'support'] });
      assert.equal(typeof result.executionId, 'number');
      assert.equal(typeof result.durationMs, 'number');
      assert.equal(result.auditTrailUrl, `${baseUrl}/api/v1/sdk/audit?executionId=${result.executionId}`);
      assert.equal(typeof result.resourceUsage.cpu_ms, 'number');
      assert.ok(Array.isArray(result.hostCallAudit));
      assert.equal(result.violationCount, 0);
      assert.equal(result.wasTerminated, false);

      const again = await agent.configure();
      assert.equal(again.id, record.id, 'configure() is an upsert');
    });

    it('runs synchronously with the defaults (READONLY, STANDARD, an echo agent)', async () => {
      const agent = agentWith({ name: 'echo', limits: { maxExecutionTimeSec: 20 } });
      const result = await agent.run({ name: 'Alice' });
      assert.equal(result.status, 'completed');
      assert.deepEqual(result.output, { received: { name: 'Alice' } });
      const record = await agent.getAgent();
      assert.deepEqual(record.permissions, [...sdk.SecureAgent.permissions.READONLY].sort());
      assert.equal(record.config.cpu_time_limit_ms, 20_000);
      assert.equal(record.entry_code, sdk.DEFAULT_ENTRY_CODE);
    });

    it('lists executions with paging and a status filter, and reads one in full', async () => {
      const agent = agentWith({ name: 'history', entryCode: 'return input.n;', limits: { maxExecutionTimeSec: 20 } });
      for (const n of [1, 2, 3]) await agent.run({ n });
      const page = await agent.executions({ page: 1, limit: 2 });
      assert.equal(page.executions.length, 2);
      assert.equal(page.total, 3);
      assert.ok(page.executions[0]!.executionId > page.executions[1]!.executionId);
      assert.ok(!('output' in page.executions[0]!));
      const completed = await agent.executions({ status: 'completed' });
      assert.equal(completed.total, 3);
      assert.equal((await agent.executions({ status: 'failed' })).total, 0);
      const one = await agent.getExecution(page.executions[0]!.executionId);
      assert.equal(one.output, 3);
      assert.equal(one.nodeId, 'sdk-ts-node');
    });

    it('reuses an existing agent by agentId', async () => {
      const first = agentWith({ name: 'by-id', entryCode: 'return 1;', limits: { maxExecutionTimeSec: 20 } });
      const { id } = await first.configure();
      const second = agentWith({ agentId: id, entryCode: 'return 2;' });
      assert.equal((await second.configure()).id, id);
      assert.equal((await second.run()).output, 2);
    });
  });

  describe('async submit and progress', () => {
    it('submits, follows progress over the SSE audit stream, and waits for the result', async () => {
      const agent = agentWith({ name: 'async-sse', entryCode: BUSY(300), limits: { maxExecutionTimeSec: 20 } });
      const handle = await agent.submit({ x: 1 });
      assert.equal(typeof handle.executionId, 'number');
      const events: ProgressEvent[] = [];
      handle.onProgress((e) => events.push(e), { transport: 'sse' });
      const result = await handle.wait({ timeoutMs: 60_000 });
      assert.equal(result.status, 'completed');
      assert.deepEqual(result.output, { waited: 300 });
      await waitFor(async () => events.map((e) => e.data.action_type), (types) => types.includes('execution_completed'), { what: 'execution_completed over SSE' });
      assert.ok(events.every((e) => e.transport === 'sse' && e.type === 'audit' && e.executionId === handle.executionId && e.data.execution_id === handle.executionId));
      const types = events.map((e) => e.data.action_type);
      for (const t of ['execution_queued', 'execution_started', 'execution_completed']) assert.ok(types.includes(t), `${t} in ${types}`);
      handle.close();
    });

    it('uses the WebSocket where the runtime has a global one', async () => {
      const g = globalThis as { WebSocket?: unknown };
      const had = g.WebSocket;
      g.WebSocket = WebSocket;
      try {
        const agent = agentWith({ name: 'async-ws', entryCode: BUSY(1500), limits: { maxExecutionTimeSec: 20 } });
        const handle = await agent.submit();
        const events: ProgressEvent[] = [];
        handle.onProgress((e) => events.push(e));
        const result = await handle.wait({ timeoutMs: 60_000 });
        assert.equal(result.status, 'completed');
        await waitFor(async () => events.map((e) => e.type), (types) => types.includes('result'), { what: 'a result frame' });
        assert.ok(events.every((e) => e.transport === 'websocket'));
        assert.ok(events.some((e) => e.type === 'log' && e.data.message === 'done'), JSON.stringify(events));
        handle.close();
      } finally {
        g.WebSocket = had;
      }
    });

    it('times wait() out with SDKError TIMEOUT', async () => {
      const agent = agentWith({ name: 'slow', entryCode: BUSY(3000), limits: { maxExecutionTimeSec: 20 } });
      const handle = await agent.submit();
      await assert.rejects(handle.wait({ timeoutMs: 200 }), (err: unknown) => err instanceof sdk.SDKError && err.code === 'TIMEOUT' && err.status === 0);
      assert.equal((await handle.wait({ timeoutMs: 60_000 })).status, 'completed');
    });
  });

  describe('kill switch', () => {
    it('stop() halts the agent and terminates its running execution', async () => {
      const agent = agentWith({ name: 'runaway', entryCode: BUSY(25_000), limits: { maxExecutionTimeSec: 60 } });
      const handle = await agent.submit();
      await waitFor(() => agent.getExecution(handle.executionId), (e) => e.status === 'running', { timeoutMs: 30_000, what: 'the run to start' });
      const halted = await agent.stop('Suspicious output detected — halting for review');
      assert.equal(halted.status, 'halted');
      assert.equal(halted.halt_reason, 'Suspicious output detected — halting for review');
      const result = await handle.wait({ timeoutMs: 30_000 });
      assert.equal(result.status, 'terminated');
      assert.equal(result.wasTerminated, true);
      await assert.rejects(agent.run(), (err: unknown) => err instanceof sdk.SDKError && err.code === 'agent_halted' && err.status === 409);
      await agent.configure(); // sets status ready again
      assert.equal((await agent.getAgent()).status, 'ready');
    });

    it('globalKill halts and resumes every agent of the account', async () => {
      const agent = agentWith({ name: 'global', entryCode: 'return 1;', limits: { maxExecutionTimeSec: 20 } });
      await agent.configure();
      const opts = { apiKey: account.adminKey, baseUrl };
      assert.deepEqual(await sdk.SecureAgent.globalKill({ halted: true, reason: 'Emergency maintenance' }, opts), { halted: true, reason: 'Emergency maintenance' });
      try {
        await assert.rejects(agent.run(), (err: unknown) => err instanceof sdk.SDKError && err.code === 'account_halted' && err.status === 409);
      } finally {
        assert.equal((await sdk.SecureAgent.globalKill({ halted: false }, opts)).halted, false);
      }
      assert.equal((await agent.run()).output, 1);
    });
  });

  describe('audit', () => {
    let agent: InstanceType<Sdk['SecureAgent']>;
    let executionId: number;
    before(async () => {
      agent = agentWith({ name: 'audited', entryCode: 'await thetazero.log("hi"); return input;', limits: { maxExecutionTimeSec: 20 } });
      executionId = (await agent.run({ a: 1 })).executionId;
    });

    it('queries the log with filters, pages with nextCursor, and verifies a record', async () => {
      const page = await waitFor(() => agent.getAuditLog({ executionId }), (p) => p.events.some((e) => e.action_type === 'execution_completed'), { what: 'the records' });
      assert.ok(page.total >= 3);
      assert.equal(page.anchored, false);
      assert.ok(page.events.every((e) => e.execution_id === executionId));
      const today = new Date().toISOString().slice(0, 10);
      const started = await agent.getAuditLog({ from: today, to: today, actionTypes: ['execution_started'], violationsOnly: false, limit: 200 });
      assert.ok(started.events.length >= 1 && started.events.every((e) => e.action_type === 'execution_started' && e.agent_id === agent.agentId));
      const first = await agent.getAuditLog({ limit: 1 });
      assert.equal(first.events.length, 1);
      assert.ok(first.nextCursor);
      const second = await agent.getAuditLog({ limit: 1, cursor: first.nextCursor! });
      assert.ok(second.events[0]!.sequence > first.events[0]!.sequence);
      const proof = await agent.verifyAuditRecord(page.events.at(-1)!.id);
      assert.equal(proof.chain_valid, true);
      assert.equal(proof.anchored, false);
    });

    it('exports csv, json and summary', async () => {
      const csv = await agent.exportAuditLog('csv', { from: '2020-01-01' });
      const [header, ...rows] = csv.trim().split(/\r?\n/);
      assert.match(header!, /action_type/);
      assert.ok(rows.length >= 3);
      const json = await agent.exportAuditLog('json');
      assert.ok(Array.isArray(json.events) && json.events.length >= 3);
      const summary = await agent.exportAuditLog('summary', { from: new Date(Date.now() - 3_600_000) });
      assert.equal((summary.chain as { valid: boolean }).valid, true);
    });

    it('streams live records, reconnecting with Last-Event-ID across the server closing the stream', async () => {
      const events: StreamEvent[] = [];
      const stream = agent.streamAuditLog({}, (e) => events.push(e));
      try {
        await stream.ready;
        const first = await agent.run({ b: 1 });
        await waitFor(async () => events, (es) => es.some((e) => e.type === 'audit' && (e.data as { execution_id: number; action_type: string }).execution_id === first.executionId && (e.data as { action_type: string }).action_type === 'execution_completed'), { what: 'the first run on the stream' });
        // The api closes streams after AUDIT_STREAM_MAX_AGE_MS (4 s here): the SDK must resume.
        await waitFor(async () => events, (es) => es.some((e) => e.type === 'timeout'), { timeoutMs: 10_000, what: 'the server timeout' });
        const second = await agent.run({ b: 2 });
        await waitFor(async () => events, (es) => es.some((e) => e.type === 'audit' && (e.data as { execution_id: number; action_type: string }).execution_id === second.executionId && (e.data as { action_type: string }).action_type === 'execution_completed'), { what: 'the second run after reconnecting' });
        const ids = events.filter((e) => e.type === 'audit').map((e) => Number(e.id));
        assert.equal(new Set(ids).size, ids.length, 'no record twice');
        assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'in order');
        assert.ok(events.filter((e) => e.type === 'connected').length >= 2, 'reconnected');
        assert.equal(stream.lastEventId, String(ids.at(-1)));
      } finally {
        stream.close();
      }
    });

    it('resumes from a given record id', async () => {
      const { events: recorded } = await agent.getAuditLog({ limit: 3 });
      const seen: StreamEvent[] = [];
      const stream = agent.streamAuditLog({ lastEventId: recorded[0]!.id }, (e) => seen.push(e));
      try {
        await waitFor(async () => seen, (es) => es.filter((e) => e.type === 'audit').length >= 2, { what: 'replayed records' });
        const replayed = seen.filter((e) => e.type === 'audit').map((e) => Number(e.id));
        assert.deepEqual(replayed.slice(0, 2), [recorded[1]!.id, recorded[2]!.id]);
      } finally {
        stream.close();
      }
    });
  });

  describe('errors', () => {
    const isSdkError = (code: string, status: number) => (err: unknown) => {
      assert.ok(err instanceof sdk.SDKError, String(err));
      assert.equal(err.code, code);
      assert.equal(err.status, status);
      assert.ok(err.message.length > 0);
      return true;
    };

    it('maps a bad key to unauthenticated 401', async () => {
      const agent = new sdk.SecureAgent({ apiKey: `tzk_${'x'.repeat(43)}`, baseUrl, name: 'nobody' });
      await assert.rejects(agent.configure(), isSdkError('unauthenticated', 401));
    });

    it('maps a key without the scope to insufficient_scope 403', async () => {
      const key = await system.createKey(account.id, ['agents:read']);
      const owner = agentWith({ name: 'scoped', entryCode: 'return 1;', limits: { maxExecutionTimeSec: 20 } });
      const { id } = await owner.configure();
      const reader = new sdk.SecureAgent({ apiKey: key, baseUrl, agentId: id });
      assert.equal((await reader.getAgent()).id, id);
      await assert.rejects(reader.run(), isSdkError('insufficient_scope', 403));
      await assert.rejects(reader.getAuditLog(), isSdkError('insufficient_scope', 403));
    });

    it('maps an unknown agent to not_found 404', async () => {
      const agent = agentWith({ agentId: 987_654 });
      await assert.rejects(agent.getAgent(), isSdkError('not_found', 404));
      await assert.rejects(agent.executions(), isSdkError('not_found', 404));
    });

    it('reports an unreachable server as NETWORK_ERROR and a refused stream through onError', async () => {
      const agent = new sdk.SecureAgent({ apiKey: account.adminKey, baseUrl: 'http://127.0.0.1:9', agentId: 1, maxRetries: 1 });
      await assert.rejects(agent.getAgent(), isSdkError('NETWORK_ERROR', 0));
      const errors: unknown[] = [];
      const bad = new sdk.SecureAgent({ apiKey: `tzk_${'y'.repeat(43)}`, baseUrl });
      const stream = bad.streamAuditLog({ onError: (e) => errors.push(e) }, () => undefined);
      await assert.rejects(stream.ready, isSdkError('unauthenticated', 401));
      assert.equal(errors.length, 1);
    });

    it('refuses options the server would refuse, before any request', () => {
      assert.throws(() => new sdk.SecureAgent({ apiKey: 'sk_live' }), isSdkError('invalid_options', 0));
      assert.throws(() => agentWith({ sandbox: 'LOOSE' as 'DEV' }), isSdkError('invalid_options', 0));
    });
  });

  describe('the package', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'tz-sdk-pack-'));
      // dist/ is fresh: npm test builds it before mocha runs.
      const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: PKG, encoding: 'utf8' });
      const [{ filename }] = JSON.parse(out.slice(out.indexOf('['))) as [{ filename: string }];
      const target = path.join(dir, 'app/node_modules/@thetazero/agent-sdk');
      await mkdir(target, { recursive: true });
      execFileSync('tar', ['-xzf', path.join(dir, filename), '-C', target, '--strip-components=1']);
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('has no dependencies and ships CommonJS, ESM and declarations', async () => {
      const pkg = JSON.parse(await readFile(path.join(dir, 'app/node_modules/@thetazero/agent-sdk/package.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(pkg.dependencies, undefined);
      for (const f of ['dist/index.cjs', 'dist/index.mjs', 'dist/types/index.d.ts', 'README.md']) {
        await readFile(path.join(dir, 'app/node_modules/@thetazero/agent-sdk', f));
      }
    });

    it('works with require() and with import', async () => {
      const app = path.join(dir, 'app');
      await writeFile(path.join(app, 'cjs.cjs'), `const { SecureAgent, SDKError } = require('@thetazero/agent-sdk');
new SecureAgent({ apiKey: process.env.KEY, baseUrl: process.env.URL, name: 'from-cjs', entryCode: 'return input.v;' })
  .run({ v: 'cjs' }).then((r) => console.log(JSON.stringify({ out: r.output, coder: SecureAgent.permissions.CODER, err: typeof SDKError })));
`);
      await writeFile(path.join(app, 'esm.mjs'), `import { SecureAgent } from '@thetazero/agent-sdk';
const r = await new SecureAgent({ apiKey: process.env.KEY, baseUrl: process.env.URL, name: 'from-esm', entryCode: 'return input.v;' }).run({ v: 'esm' });
console.log(JSON.stringify({ out: r.output }));
`);
      const run = (file: string) => JSON.parse(execFileSync(process.execPath, [file], { cwd: app, env: { ...process.env, KEY: account.adminKey, URL: baseUrl }, encoding: 'utf8' }));
      const cjs = run('cjs.cjs');
      assert.equal(cjs.out, 'cjs');
      assert.deepEqual(cjs.coder, [...sdk.SecureAgent.permissions.CODER]);
      assert.equal(cjs.err, 'function');
      assert.equal(run('esm.mjs').out, 'esm');
    });
  });
});

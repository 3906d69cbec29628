// Executor nodes as real processes against Redis alone (no database, no scheduler): exec
// jobs are put straight on the exec queue, and what a node hands back is read where the
// scheduler would read it: the results queue, the progress channel and the audit stream.
import assert from 'node:assert/strict';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { auditEventSchema, type AuditEvent } from '../../shared/audit/audit-event.ts';
import { QUEUES, type ExecJob, type KillSignal, type NodeMessage, type NodeReport, type ProgressFrame } from '../../shared/execution/protocol.ts';
import { STARTED_REPORT_DELAY_MS } from '../../executor-node/execution/exec-job-processor.ts';
import { resolveAgentPermissions, type AgentPresetName } from '../../shared/permissions/agent-presets.ts';
import { redisKeys, type RedisKeys } from '../../shared/redis/keys.ts';
import { resolveAgentConfig, type AgentConfigInput } from '../../shared/sandbox-templates.ts';
import { startProcess, type RunningProcess } from '../helpers/processes.ts';
import { deleteRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from '../helpers/test-redis.ts';
import { waitFor } from '../helpers/wait-for.ts';

const HELLO = 'await thetazero.write_result({ message: "Hello, " + (input.name || "world") + "!" });';
/** Busy for about `input.ms` of wall time, then writes a result: a run long enough to interrupt. */
const BUSY = 'const end = Date.now() + input.ms; while (Date.now() < end) {} await thetazero.write_result({ done: true });';
const ENDLESS = 'while (true) {}';

let executionSeq = 0;

/** One isolated deployment: its own Redis prefix, nodes, and a stand-in for the scheduler's side. */
class ExecutorTestbed {
  readonly keys: RedisKeys;
  readonly redis = new Redis(TEST_REDIS_URL);
  readonly messages: NodeMessage[] = [];
  readonly reports: NodeReport[] = [];
  readonly frames: ProgressFrame[] = [];
  /** Messages published on the results-ahead channel. */
  readonly ahead: NodeMessage[] = [];
  private readonly subscriber = new Redis(TEST_REDIS_URL);
  private readonly nodes: RunningProcess[] = [];
  private readonly execQueue: Queue;
  private readonly results: Worker;

  constructor(readonly prefix: string) {
    this.keys = redisKeys(prefix);
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    this.execQueue = new Queue(QUEUES.exec('standard'), { connection, prefix });
    this.results = new Worker(
      QUEUES.results,
      async (job) => {
        this.reports.push(job.data as NodeReport);
        this.messages.push(...(job.data as NodeReport).messages);
      },
      { connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }), prefix, concurrency: 1 },
    );
  }

  static async create(label: string): Promise<ExecutorTestbed> {
    const testbed = new ExecutorTestbed(testRedisPrefix(label));
    testbed.subscriber.on('pmessage', (_pattern: string, _channel: string, message: string) => {
      testbed.frames.push(JSON.parse(message) as ProgressFrame);
    });
    testbed.subscriber.on('message', (_channel: string, message: string) => {
      testbed.ahead.push(JSON.parse(message) as NodeMessage);
    });
    await testbed.subscriber.psubscribe(testbed.keys.progressPattern);
    await testbed.subscriber.subscribe(testbed.keys.resultsAheadChannel);
    await testbed.results.waitUntilReady();
    return testbed;
  }

  async startNode(nodeId: string, env: Record<string, string> = {}): Promise<RunningProcess> {
    const node = await startProcess(
      'executor-node/main.ts',
      { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: this.prefix, NODE_ID: nodeId, SANDBOX_POOL_SIZE: '2', ...env },
      'executor node started',
    );
    this.nodes.push(node);
    return node;
  }

  async submit(code: string, options: { input?: unknown; context?: Record<string, unknown>; config?: AgentConfigInput; permissions?: AgentPresetName; agentId?: number; accountId?: number; awaited?: boolean } = {}): Promise<ExecJob> {
    const resolved = resolveAgentConfig({ cpu_time_limit_ms: 5000, memory_limit_mb: 32, ...options.config });
    if (!resolved.ok) throw new Error(resolved.message);
    const executionId = ++executionSeq;
    const job: ExecJob = {
      executionId,
      accountId: options.accountId ?? 7,
      agent: {
        id: options.agentId ?? 100 + executionId,
        name: 'test-agent',
        version: '1.0.0',
        entryCode: code,
        config: resolved.config,
        permissions: resolveAgentPermissions(options.permissions ?? 'READONLY').scopes,
        swarm: null,
      },
      input: (options.input ?? {}) as ExecJob['input'],
      context: (options.context ?? {}) as ExecJob['context'],
      dispatchedAt: new Date().toISOString(),
      awaited: options.awaited ?? false,
    };
    await this.execQueue.add('exec', job, { jobId: `e${executionId}` });
    return job;
  }

  messagesOf(executionId: number): NodeMessage[] {
    return this.messages.filter((m) => m.executionId === executionId);
  }

  async waitForMessage<T extends NodeMessage['type']>(executionId: number, type: T, timeoutMs = 15_000): Promise<Extract<NodeMessage, { type: T }>> {
    const found = await waitFor(
      async () => this.messages.find((m) => m.executionId === executionId && m.type === type),
      (m) => m !== undefined,
      { timeoutMs, intervalMs: 5, what: `${type} for execution ${executionId}` },
    );
    return found as Extract<NodeMessage, { type: T }>;
  }

  async auditEventsOf(executionId: number): Promise<AuditEvent[]> {
    const entries = await this.redis.xrange(this.keys.auditStream, '-', '+');
    return entries
      .map(([, fields]) => auditEventSchema.parse(JSON.parse(fields[1]!)))
      .filter((e) => e.execution_id === executionId);
  }

  async kill(signal: KillSignal): Promise<void> {
    await this.redis.publish(this.keys.killChannel, JSON.stringify(signal));
  }

  async jobState(executionId: number): Promise<string> {
    return this.execQueue.getJobState(`e${executionId}`);
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop('SIGKILL')));
    await this.results.close();
    await this.execQueue.close();
    this.subscriber.disconnect();
    this.redis.disconnect();
    await deleteRedisPrefix(this.prefix);
  }
}

describe('executor node (e2e)', function () {
  this.timeout(60_000);

  describe('running executions', () => {
    let bed: ExecutorTestbed;
    let node: RunningProcess;

    before(async () => {
      bed = await ExecutorTestbed.create('exec');
      node = await bed.startNode('node-a');
    });
    after(async () => {
      await bed?.close();
    });

    it('logs a ready line naming the node and its pools, and registers itself', async () => {
      assert.equal(node.ready.nodeId, 'node-a');
      assert.deepEqual(node.ready.pools, ['standard']);
      const entry = JSON.parse((await bed.redis.hget(bed.keys.nodesKey, 'node-a'))!);
      assert.deepEqual(entry.pools, ['standard']);
      assert.equal(entry.threads, 2);
      assert.ok(Date.now() - Date.parse(entry.lastSeen) < 10_000);
    });

    it('runs the hello-world agent: one finished message, completed with its output and when it started', async () => {
      // The first runs of a fresh node warm its threads up and may outlast the report delay.
      for (let i = 0; i < 4; i++) await bed.waitForMessage((await bed.submit(HELLO)).executionId, 'finished');
      const job = await bed.submit(HELLO, { input: { name: 'Alice' } });
      const finished = await bed.waitForMessage(job.executionId, 'finished');
      const types = bed.messagesOf(job.executionId).map((m) => m.type);
      assert.deepEqual(types, ['finished'], `a run shorter than ${STARTED_REPORT_DELAY_MS} ms reports its start with its end`);
      assert.equal(finished.attempt, 1);
      assert.ok(Date.parse(finished.startedAt) <= Date.parse(finished.at));
      assert.equal(finished.nodeId, 'node-a');
      assert.equal(finished.pool, 'standard', 'the pool whose queue the job came from');
      assert.equal(finished.agentId, job.agent.id);
      assert.equal(finished.accountId, job.accountId);
      assert.equal(finished.result.status, 'completed');
      assert.deepEqual(finished.result.output, { message: 'Hello, Alice!' });
      assert.equal(finished.result.execution_id, job.executionId);
      // BullMQ marks the job completed just after the processor returns, which is after `finished` is sent.
      await waitFor(() => bed.jobState(job.executionId), (s) => s === 'completed', { what: 'the job to complete' });
    });

    it('publishes the ending of an execution a caller waits for ahead of its report, and only of such an execution', async () => {
      const awaited = await bed.submit(HELLO, { input: { name: 'Ahead' }, awaited: true });
      const unawaited = await bed.submit(HELLO, { input: { name: 'Later' } });
      const reported = await bed.waitForMessage(awaited.executionId, 'finished');
      await bed.waitForMessage(unawaited.executionId, 'finished');
      const ahead = await waitFor(async () => bed.ahead.filter((m) => m.executionId === awaited.executionId), (m) => m.length > 0, { what: 'the ahead message' });
      assert.deepEqual(ahead, [reported], 'the same message as the report carries, once');
      assert.equal(bed.ahead.filter((m) => m.executionId === unawaited.executionId).length, 0, 'nothing ahead for an execution nobody waits for');
    });

    it('publishes status, log and host_call frames on the account progress channel', async () => {
      const code = 'thetazero.log("reading"); const g = await thetazero.read_context("greeting"); return { g };';
      const job = await bed.submit(code, { context: { greeting: 'hi' } });
      const finished = await bed.waitForMessage(job.executionId, 'finished');
      assert.deepEqual(finished.result.output, { g: 'hi' }, 'read_context answers from the job context');
      const frames = await waitFor(
        async () => bed.frames.filter((f) => f.executionId === job.executionId),
        (f) => f.length >= 3,
        { what: 'three progress frames' },
      );
      assert.deepEqual(
        frames.map((f) => f.type),
        ['status', 'log', 'host_call'],
      );
      assert.deepEqual(frames[0], { ...frames[0], type: 'status', status: 'running', nodeId: 'node-a', agentId: job.agent.id });
      assert.deepEqual(frames[1], { ...frames[1], type: 'log', level: 'info', message: 'reading' });
      assert.deepEqual(frames[2], { ...frames[2], type: 'host_call', fn: 'read_context', allowed: true, reason: null });
    });

    it('appends audit events as node:<id>: api_call for allowed calls, permission_denied for refused ones', async () => {
      const code = [
        'await thetazero.read_context("k");',
        'try { await thetazero.http_request("https://example.com/?token=s3cret"); } catch (e) { thetazero.log(e.code); }',
        'return 1;',
      ].join('\n');
      const job = await bed.submit(code);
      const finished = await bed.waitForMessage(job.executionId, 'finished');
      assert.equal(finished.result.status, 'completed');
      // Flushed before `finished` was sent: no waiting needed.
      const events = await bed.auditEventsOf(job.executionId);
      assert.deepEqual(
        events.map((e) => [e.action_type, e.is_violation]),
        [
          ['api_call', false],
          ['permission_denied', true],
        ],
        'the refusal and its violation are one event',
      );
      for (const event of events) {
        assert.equal(event.actor, 'node:node-a');
        assert.equal(event.account_id, job.accountId);
        assert.equal(event.agent_id, job.agent.id);
        assert.deepEqual(event.permission_state.scopes, job.agent.permissions);
      }
      assert.match(events[0]!.input_summary!, /read_context/);
      assert.match(events[1]!.description, /http_request refused: scope_missing/);
      assert.doesNotMatch(events[1]!.input_summary!, /s3cret/, 'secrets in arguments are redacted');
    });

    it('records a limit hit with no refused call behind it as sandbox_limit_hit', async () => {
      const job = await bed.submit(ENDLESS, { config: { cpu_time_limit_ms: 200 } });
      const finished = await bed.waitForMessage(job.executionId, 'finished');
      assert.equal(finished.result.status, 'timed_out');
      const events = await bed.auditEventsOf(job.executionId);
      assert.deepEqual(
        events.map((e) => [e.action_type, e.is_violation]),
        [['sandbox_limit_hit', true]],
      );
    });

    it('refuses an execution of a halted agent or account without running it', async () => {
      const agentId = 9001;
      await bed.redis.set(bed.keys.agentHaltKey(agentId), 'maintenance');
      const byAgent = await bed.submit(HELLO, { agentId });
      const refused = await bed.waitForMessage(byAgent.executionId, 'refused');
      assert.equal(refused.reason, 'agent_halted');
      await bed.redis.del(bed.keys.agentHaltKey(agentId));

      await bed.redis.set(bed.keys.accountHaltKey(77), 'global kill switch');
      const byAccount = await bed.submit(HELLO, { accountId: 77 });
      assert.equal((await bed.waitForMessage(byAccount.executionId, 'refused')).reason, 'account_halted');
      await bed.redis.del(bed.keys.accountHaltKey(77));

      for (const job of [byAgent, byAccount]) {
        assert.deepEqual(
          bed.messagesOf(job.executionId).map((m) => m.type),
          ['refused'],
        );
        assert.equal(bed.frames.filter((f) => f.executionId === job.executionId).length, 0);
      }
    });

    it('terminates a running execution within milliseconds of a kill signal', async () => {
      const job = await bed.submit(ENDLESS, { config: { cpu_time_limit_ms: 30_000 } });
      await bed.waitForMessage(job.executionId, 'started');
      // Started is sent as the run begins; give the guest a moment to be inside its loop.
      await new Promise((r) => setTimeout(r, 100));
      const killedAt = performance.now();
      await bed.kill({ scope: 'execution', executionId: job.executionId, reason: 'operator kill' });
      const finished = await bed.waitForMessage(job.executionId, 'finished');
      const latencyMs = performance.now() - killedAt;
      assert.equal(finished.result.status, 'terminated');
      assert.equal(finished.result.was_terminated, true);
      assert.deepEqual(finished.result.error, { code: 'terminated', message: 'operator kill', stack: null });
      assert.ok(latencyMs < 200, `kill to finished message took ${latencyMs.toFixed(1)} ms`);
    });

    it('reports the start of a run still going after the report delay on its own, before its end', async () => {
      const job = await bed.submit(BUSY, { input: { ms: STARTED_REPORT_DELAY_MS * 8 } });
      const started = await bed.waitForMessage(job.executionId, 'started');
      const finished = await bed.waitForMessage(job.executionId, 'finished');
      assert.deepEqual(bed.messagesOf(job.executionId).map((m) => m.type), ['started', 'finished']);
      assert.equal(started.attempt, 1);
      assert.equal(started.at, finished.startedAt);
    });

    it('terminates every running execution of an agent on an agent kill, and leaves others running', async () => {
      const agentId = 4242;
      const a = await bed.submit(ENDLESS, { agentId, config: { cpu_time_limit_ms: 30_000 } });
      const other = await bed.submit(BUSY, { input: { ms: 600 } });
      await bed.waitForMessage(a.executionId, 'started');
      await bed.waitForMessage(other.executionId, 'started');
      await bed.kill({ scope: 'agent', agentId, reason: 'agent halted' });
      assert.equal((await bed.waitForMessage(a.executionId, 'finished')).result.status, 'terminated');
      assert.equal((await bed.waitForMessage(other.executionId, 'finished')).result.status, 'completed');
    });

    it('ignores a malformed kill signal and keeps working', async () => {
      await bed.redis.publish(bed.keys.killChannel, '{"scope":"everything"}');
      await bed.redis.publish(bed.keys.killChannel, 'not json');
      const job = await bed.submit(HELLO);
      assert.equal((await bed.waitForMessage(job.executionId, 'finished')).result.status, 'completed');
      assert.match(node.output(), /malformed kill signal ignored/);
    });

    it('fails an invalid exec job without retrying it, and keeps working', async () => {
      const queue = new Queue(QUEUES.exec('standard'), { connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }), prefix: bed.prefix });
      try {
        await queue.add('exec', { executionId: 'nope' }, { jobId: 'bad-1', attempts: 3 });
        await waitFor(() => queue.getJobState('bad-1'), (s) => s === 'failed', { what: 'the invalid job to fail' });
        const job = (await queue.getJob('bad-1'))!;
        assert.equal(job.attemptsMade, 1, 'UnrecoverableError: no retry');
        assert.match(job.failedReason, /invalid exec job: executionId/);
      } finally {
        await queue.close();
      }
      const ok = await bed.submit(HELLO);
      assert.equal((await bed.waitForMessage(ok.executionId, 'finished')).result.status, 'completed');
    });
  });

  describe('shutdown and node loss', () => {
    let bed: ExecutorTestbed;

    beforeEach(async () => {
      bed = await ExecutorTestbed.create('exec-stop');
    });
    afterEach(async () => {
      await bed?.close();
    });

    it('on SIGTERM lets a running execution finish, then leaves the registry and exits 0', async () => {
      const node = await bed.startNode('node-term', { EXECUTOR_SHUTDOWN_GRACE_MS: '10000' });
      const job = await bed.submit(BUSY, { input: { ms: 1000 } });
      await bed.waitForMessage(job.executionId, 'started');
      const code = await node.stop('SIGTERM');
      assert.equal(code, 0);
      const finished = await bed.waitForMessage(job.executionId, 'finished', 1000);
      assert.equal(finished.result.status, 'completed');
      assert.equal(await bed.redis.hget(bed.keys.nodesKey, 'node-term'), null);
      assert.match(node.output(), /executor node stopped/);
    });

    it('past the shutdown grace hands the execution back to the queue, and another node runs it', async () => {
      const first = await bed.startNode('node-leaving', { EXECUTOR_SHUTDOWN_GRACE_MS: '300' });
      const job = await bed.submit(BUSY, { input: { ms: 1500 } });
      await bed.waitForMessage(job.executionId, 'started');
      assert.equal(await first.stop('SIGTERM'), 0);
      assert.equal(await bed.jobState(job.executionId), 'waiting', 'moved back, not left to stall');
      await bed.startNode('node-taking-over');
      const finished = await bed.waitForMessage(job.executionId, 'finished');
      assert.equal(finished.nodeId, 'node-taking-over');
      assert.equal(finished.result.status, 'completed');
      const messages = bed.messagesOf(job.executionId);
      assert.deepEqual(
        messages.map((m) => [m.type, m.nodeId]),
        [
          ['started', 'node-leaving'],
          ['started', 'node-taking-over'],
          ['finished', 'node-taking-over'],
        ],
        'the node that left reported no result',
      );
    });

    it('when a node is SIGKILLed mid-run, another node picks the execution up after the lock expires', async () => {
      const env = { EXECUTOR_LOCK_MS: '1000' };
      const doomed = await bed.startNode('node-doomed', env);
      const job = await bed.submit(BUSY, { input: { ms: 4000 } });
      await bed.waitForMessage(job.executionId, 'started');
      await bed.startNode('node-survivor', env);
      await doomed.stop('SIGKILL');
      const finished = await bed.waitForMessage(job.executionId, 'finished', 20_000);
      assert.equal(finished.nodeId, 'node-survivor');
      assert.equal(finished.result.status, 'completed');
      assert.deepEqual(
        bed.messagesOf(job.executionId).map((m) => [m.type, m.nodeId]),
        [
          ['started', 'node-doomed'],
          ['started', 'node-survivor'],
          ['finished', 'node-survivor'],
        ],
      );
    });
  });
});

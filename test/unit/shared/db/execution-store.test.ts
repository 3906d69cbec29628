// The execution store's batch statements against a real PostgreSQL: queued rows and their
// events, dispatch, running reports (repeated and retried attempts), final states written
// once with the start they carry, and the sweeper's listing. The audit recorder is not
// running, so every event the statements write stays in audit_outbox to be read here.
import assert from 'node:assert/strict';
import type { AuditActionType, AuditEvent } from '../../../../shared/audit/audit-event.ts';
import { ExecutionStore, type ExecutionRow, type FinalState, type RowAudit } from '../../../../shared/db/stores/execution-store.ts';
import { TestSystem, type TestAccount } from '../../../helpers/test-system.ts';

const audit = (actionType: AuditActionType, description: string = actionType): RowAudit => ({ actor: 'system', actionType, description });
const startedAudit = (nodeId: string): RowAudit => ({ actor: 'system', actionType: 'execution_started', description: `started on node ${nodeId}` });

describe('ExecutionStore batch statements (real PostgreSQL)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  let account: TestAccount;
  let agentId: number;
  let otherAgentId: number;
  let store: ExecutionStore;

  /** Queued executions of the test agent, one per input. */
  const queue = (inputs: string[] = ['{}'], agent = agentId) =>
    store.createQueuedMany(inputs.map((inputJson) => ({ accountId: account.id, agentId: agent, inputJson, awaited: false, audit: audit('execution_queued') })));

  /** The outbox events about these executions, in outbox order. */
  async function outbox(...ids: number[]): Promise<AuditEvent[]> {
    const rows = (await system.db.query(
      `SELECT event FROM audit_outbox WHERE (event->>'execution_id')::bigint = ANY($1::bigint[]) ORDER BY id`,
      [ids],
    )) as { event: AuditEvent }[];
    return rows.map((r) => r.event);
  }
  const actions = async (...ids: number[]) => (await outbox(...ids)).map((e) => e.action_type);
  const row = async (id: number) => (await store.getById(id))!;
  const ended = (id: number, fields: Partial<FinalState['fields']> = {}, extra: Partial<FinalState> = {}): FinalState => ({
    id,
    fields: { status: 'completed', ...fields },
    audits: [audit('api_call', 'fetch'), audit(fields.status && fields.status !== 'completed' ? 'execution_failed' : 'execution_completed')],
    ...extra,
  });

  before(async () => {
    system = await TestSystem.create('execstore');
    // Owner ids of 1 would hide a statement that kept its placeholder owners (1, 1).
    const first = await system.createAccount('execstore-first');
    await system.createAgent(first.id, 'placeholder');
    account = await system.createAccount('execstore');
    agentId = await system.createAgent(account.id, 'worker');
    otherAgentId = await system.createAgent(account.id, 'helper');
    assert.notEqual(account.id, 1);
    assert.notEqual(agentId, 1);
    store = new ExecutionStore(system.db);
  });
  after(async () => system?.stop());

  describe('createQueuedMany', () => {
    it('creates queued rows in the order given, ids ascending, each with its input (a JSON null included)', async () => {
      const inputs = ['{"a":1}', 'null', '[1,"two"]', '"text"'];
      const agents = [otherAgentId, agentId, otherAgentId, agentId];
      const rows = await store.createQueuedMany(
        inputs.map((inputJson, i) => ({ accountId: account.id, agentId: agents[i]!, inputJson, awaited: i % 2 === 0, audit: audit('execution_queued') })),
      );
      assert.equal(rows.length, 4);
      assert.deepEqual(rows.map((r) => r.agent_id), agents, 'rows come back in the order given');
      for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.id > rows[i - 1]!.id, 'ids ascend in the order given');
      assert.deepEqual(rows.map((r) => r.input), [{ a: 1 }, null, [1, 'two'], 'text']);
      assert.deepEqual(rows.map((r) => r.awaited), [true, false, true, false], 'whether a caller waits is kept per row');
      assert.deepEqual(await Promise.all(rows.map(async (r) => (await row(r.id)).awaited)), [true, false, true, false], 'and read back');
      for (const r of rows) {
        assert.equal(r.status, 'queued');
        assert.equal(r.account_id, account.id);
        assert.equal(r.attempts, 0);
        assert.equal(r.pool, null);
        assert.equal(r.finished_at, null);
      }
      const [stored] = (await system.db.query(`SELECT jsonb_typeof(input) AS type FROM executions WHERE id = $1`, [rows[1]!.id])) as { type: string }[];
      assert.equal(stored!.type, 'null', 'a null input is stored as JSON null');
    });

    it('writes one execution_queued event per row, naming its execution, account and agent', async () => {
      const rows = await store.createQueuedMany([
        { accountId: account.id, agentId: otherAgentId, inputJson: '1', awaited: false, audit: audit('execution_queued') },
        { accountId: account.id, agentId, inputJson: '2', awaited: false, audit: audit('execution_queued') },
        { accountId: account.id, agentId: otherAgentId, inputJson: '3', awaited: false, audit: audit('execution_queued') },
      ]);
      const events = await outbox(...rows.map((r) => r.id));
      assert.deepEqual(events.map((e) => e.execution_id), rows.map((r) => r.id), 'one event per row, in the order given');
      for (const [i, event] of events.entries()) {
        assert.equal(event.action_type, 'execution_queued');
        assert.equal(event.account_id, account.id);
        assert.equal(event.agent_id, rows[i]!.agent_id);
      }
    });

    it('writes nothing for an empty batch', async () => {
      const [before] = (await system.db.query(`SELECT count(*)::int AS n FROM executions`)) as { n: number }[];
      assert.deepEqual(await store.createQueuedMany([]), []);
      const [after] = (await system.db.query(`SELECT count(*)::int AS n FROM executions`)) as { n: number }[];
      assert.equal(after!.n, before!.n);
    });
  });

  describe('markDispatchedMany', () => {
    it('moves queued rows to dispatched with their pool and answers the ids it moved', async () => {
      const [a, b, c] = await queue(['1', '2', '3']);
      const moved = await store.markDispatchedMany([
        { id: a!.id, pool: 'standard' },
        { id: b!.id, pool: 'tee' },
      ]);
      assert.deepEqual(moved, new Set([a!.id, b!.id]));
      assert.deepEqual([(await row(a!.id)).status, (await row(a!.id)).pool], ['dispatched', 'standard']);
      assert.deepEqual([(await row(b!.id)).status, (await row(b!.id)).pool], ['dispatched', 'tee']);
      assert.deepEqual([(await row(c!.id)).status, (await row(c!.id)).pool], ['queued', null]);
    });

    it('leaves a row already running, final or dispatched in its status, recording the pool only where none was', async () => {
      const [running, final, dispatched] = await queue(['1', '2', '3']);
      await store.markRunningMany([{ id: running!.id, nodeId: 'node-a', at: new Date(), attempt: 1, audit: startedAudit('node-a') }]);
      await store.finalizeMany([ended(final!.id, { status: 'halted' })]);
      await store.markDispatchedMany([{ id: dispatched!.id, pool: 'standard' }]);

      const moved = await store.markDispatchedMany([
        { id: running!.id, pool: 'standard' },
        { id: final!.id, pool: 'standard' },
        { id: dispatched!.id, pool: 'tee' },
      ]);
      assert.deepEqual(moved, new Set());
      const after = await Promise.all([running, final, dispatched].map((r) => row(r!.id)));
      assert.deepEqual(
        after.map((r) => [r.status, r.pool]),
        [
          ['running', 'standard'],
          ['halted', 'standard'],
          ['dispatched', 'standard'],
        ],
      );
    });
  });

  describe('markRunningMany', () => {
    it('marks a run running with its node, start and attempt, and writes one execution_started event', async () => {
      const [exec] = await queue();
      await store.markDispatchedMany([{ id: exec!.id, pool: 'standard' }]);
      const at = new Date(Date.now() - 1500);
      const written = await store.markRunningMany([{ id: exec!.id, nodeId: 'node-a', at, attempt: 1, audit: startedAudit('node-a') }]);
      assert.deepEqual(written, new Set([exec!.id]));
      const r = await row(exec!.id);
      assert.equal(r.status, 'running');
      assert.equal(r.node_id, 'node-a');
      assert.equal(r.started_at?.getTime(), at.getTime());
      assert.equal(r.attempts, 1);
      const events = await outbox(exec!.id);
      assert.deepEqual(events.map((e) => e.action_type), ['execution_queued', 'execution_started']);
      const started = events[1]!;
      assert.deepEqual([started.execution_id, started.account_id, started.agent_id], [exec!.id, account.id, agentId]);
    });

    it("records the node's pool when the dispatch mark has not, and keeps the mark's when it has", async () => {
      const [unmarked, marked] = await queue(['1', '2']);
      await store.markDispatchedMany([{ id: marked!.id, pool: 'standard' }]);
      await store.markRunningMany([
        { id: unmarked!.id, nodeId: 'node-a', pool: 'tee', at: new Date(), attempt: 1, audit: startedAudit('node-a') },
        { id: marked!.id, nodeId: 'node-a', pool: 'tee', at: new Date(), attempt: 1, audit: startedAudit('node-a') },
      ]);
      assert.equal((await row(unmarked!.id)).pool, 'tee');
      assert.equal((await row(marked!.id)).pool, 'standard');
    });

    it('changes nothing on a repeated report of the same attempt, and records attempt 2 after attempt 1', async () => {
      const [exec] = await queue();
      const firstAt = new Date(Date.now() - 3000);
      await store.markRunningMany([{ id: exec!.id, nodeId: 'node-a', at: firstAt, attempt: 1, audit: startedAudit('node-a') }]);

      const repeated = await store.markRunningMany([{ id: exec!.id, nodeId: 'node-b', at: new Date(), attempt: 1, audit: startedAudit('node-b') }]);
      assert.deepEqual(repeated, new Set());
      const unchanged = await row(exec!.id);
      assert.deepEqual([unchanged.node_id, unchanged.attempts, unchanged.started_at?.getTime()], ['node-a', 1, firstAt.getTime()]);
      assert.deepEqual(await actions(exec!.id), ['execution_queued', 'execution_started']);

      const retried = await store.markRunningMany([{ id: exec!.id, nodeId: 'node-b', at: new Date(), attempt: 2, audit: startedAudit('node-b') }]);
      assert.deepEqual(retried, new Set([exec!.id]));
      const r = await row(exec!.id);
      assert.deepEqual([r.status, r.node_id, r.attempts], ['running', 'node-b', 2]);
      assert.deepEqual(await actions(exec!.id), ['execution_queued', 'execution_started', 'execution_started']);
    });

    it('does nothing for an execution that already ended', async () => {
      const [exec] = await queue();
      await store.finalizeMany([ended(exec!.id, { status: 'node_lost' })]);
      const before = await actions(exec!.id);
      const written = await store.markRunningMany([{ id: exec!.id, nodeId: 'node-a', at: new Date(), attempt: 1, audit: startedAudit('node-a') }]);
      assert.deepEqual(written, new Set());
      const r = await row(exec!.id);
      assert.deepEqual([r.status, r.node_id, r.attempts, r.started_at], ['node_lost', null, 0, null]);
      assert.deepEqual(await actions(exec!.id), before);
    });
  });

  describe('finalizeMany', () => {
    it('writes a final state once: a second call for the same execution returns no row and writes no events', async () => {
      const [exec] = await queue();
      const [first, ...rest] = await store.finalizeMany([
        ended(exec!.id, { output: { answer: 42 }, duration_ms: 12.5, resource_usage: { cpu_ms: 3 }, violation_count: 1 }),
      ]);
      assert.equal(rest.length, 0);
      assert.equal(first!.id, exec!.id);
      assert.equal(first!.status, 'completed');
      assert.deepEqual(first!.output, { answer: 42 });
      assert.deepEqual(first!.resource_usage, { cpu_ms: 3 });
      assert.equal(first!.duration_ms, 12.5);
      assert.equal(first!.violation_count, 1);
      assert.ok(first!.finished_at instanceof Date);
      const events = await outbox(exec!.id);
      assert.deepEqual(events.map((e) => e.action_type), ['execution_queued', 'api_call', 'execution_completed']);
      for (const e of events.slice(1)) assert.deepEqual([e.execution_id, e.account_id, e.agent_id], [exec!.id, account.id, agentId]);

      const again = await store.finalizeMany([ended(exec!.id, { status: 'failed', error: { code: 'late', message: 'too late' } })]);
      assert.deepEqual(again, []);
      const r = await row(exec!.id);
      assert.deepEqual([r.status, r.output, r.error], ['completed', { answer: 42 }, null]);
      assert.equal((await outbox(exec!.id)).length, 3, 'no events for the ending that lost');
    });

    it('records the pool of an execution that ended before its dispatch mark, and keeps a pool already recorded', async () => {
      const [fast, marked, refused] = await queue(['1', '2', '3']);
      await store.markDispatchedMany([{ id: marked!.id, pool: 'standard' }]);
      const rows = await store.finalizeMany([ended(fast!.id, { pool: 'tee' }), ended(marked!.id, { pool: 'tee' }), ended(refused!.id, { status: 'halted' })]);
      assert.deepEqual(rows.map((r) => r.pool), ['tee', 'standard', null]);
      assert.deepEqual([(await row(fast!.id)).pool, (await row(marked!.id)).pool, (await row(refused!.id)).pool], ['tee', 'standard', null]);
      // The mark that comes after the end changes nothing.
      assert.deepEqual(await store.markDispatchedMany([{ id: fast!.id, pool: 'standard' }]), new Set());
      assert.deepEqual([(await row(fast!.id)).pool, (await row(fast!.id)).status], ['tee', 'completed']);
    });

    it('returns the rows it ended in the order given, leaving out those already final, and writes their events in that order', async () => {
      const [a, b, c] = await queue(['1', '2', '3']);
      await store.finalizeMany([ended(b!.id, { status: 'halted' })]);
      const rows = await store.finalizeMany([ended(c!.id), ended(b!.id), ended(a!.id, { status: 'failed' })]);
      assert.deepEqual(rows.map((r) => r.id), [c!.id, a!.id]);
      assert.deepEqual(rows.map((r) => r.status), ['completed', 'failed']);
      const finalEvents = (await outbox(a!.id, c!.id)).filter((e) => e.action_type !== 'execution_queued');
      assert.deepEqual(
        finalEvents.map((e) => [e.execution_id, e.action_type]),
        [
          [c!.id, 'api_call'],
          [c!.id, 'execution_completed'],
          [a!.id, 'api_call'],
          [a!.id, 'execution_failed'],
        ],
      );
    });

    it('records an unreported start with the final state, its execution_started event before the others', async () => {
      const [exec] = await queue();
      await store.markDispatchedMany([{ id: exec!.id, pool: 'standard' }]);
      const at = new Date(Date.now() - 2000);
      const [r] = await store.finalizeMany([
        ended(exec!.id, { node_id: 'node-x' }, { start: { at, attempt: 1, audit: startedAudit('node-x') } }),
      ]);
      assert.equal(r!.started_at?.getTime(), at.getTime());
      assert.equal(r!.attempts, 1);
      assert.equal(r!.node_id, 'node-x');
      const events = await outbox(exec!.id);
      assert.deepEqual(events.map((e) => e.action_type), ['execution_queued', 'execution_started', 'api_call', 'execution_completed']);
      assert.deepEqual([events[1]!.account_id, events[1]!.agent_id], [account.id, agentId]);
    });

    it('writes no second execution_started when markRunningMany already recorded that attempt', async () => {
      const [exec] = await queue();
      const reportedAt = new Date(Date.now() - 5000);
      await store.markRunningMany([{ id: exec!.id, nodeId: 'node-a', at: reportedAt, attempt: 1, audit: startedAudit('node-a') }]);
      const [r] = await store.finalizeMany([
        ended(exec!.id, { node_id: 'node-a' }, { start: { at: new Date(Date.now() - 4000), attempt: 1, audit: startedAudit('node-a') } }),
      ]);
      assert.equal(r!.started_at?.getTime(), reportedAt.getTime(), 'the recorded start stays');
      assert.equal(r!.attempts, 1);
      assert.deepEqual(await actions(exec!.id), ['execution_queued', 'execution_started', 'api_call', 'execution_completed']);
    });

    it('writes execution_started first for a later attempt whose start was not reported', async () => {
      const [exec] = await queue();
      await store.markRunningMany([{ id: exec!.id, nodeId: 'node-a', at: new Date(), attempt: 1, audit: startedAudit('node-a') }]);
      const [r] = await store.finalizeMany([
        ended(exec!.id, { node_id: 'node-b' }, { start: { at: new Date(), attempt: 2, audit: startedAudit('node-b') } }),
      ]);
      assert.deepEqual([r!.attempts, r!.node_id], [2, 'node-b']);
      assert.deepEqual(await actions(exec!.id), [
        'execution_queued',
        'execution_started',
        'execution_started',
        'api_call',
        'execution_completed',
      ]);
    });

    it('keeps the node of the running report when the ending names none', async () => {
      const [exec] = await queue();
      await store.markRunningMany([{ id: exec!.id, nodeId: 'node-a', at: new Date(), attempt: 1, audit: startedAudit('node-a') }]);
      const [r] = await store.finalizeMany([ended(exec!.id, { status: 'node_lost' })]);
      assert.deepEqual([r!.status, r!.node_id, r!.attempts], ['node_lost', 'node-a', 1]);
    });
  });

  describe('unfinished', () => {
    it('lists unfinished executions in the given states queued long enough ago, and only those before queuedBefore when given', async () => {
      const [old, olderDispatched, finished, running, fresh] = await queue(['1', '2', '3', '4', '5']);
      await store.markDispatchedMany([{ id: olderDispatched!.id, pool: 'standard' }]);
      await store.finalizeMany([ended(finished!.id)]);
      await store.markRunningMany([{ id: running!.id, nodeId: 'node-a', at: new Date(), attempt: 1, audit: startedAudit('node-a') }]);
      const setQueuedAt = (e: ExecutionRow, minutesAgo: number) =>
        system.db.query(`UPDATE executions SET queued_at = now() - make_interval(mins => $2) WHERE id = $1`, [e.id, minutesAgo]);
      await setQueuedAt(old!, 10);
      await setQueuedAt(olderDispatched!, 5);
      await setQueuedAt(finished!, 10);
      await setQueuedAt(running!, 10);
      const ours = new Set([old, olderDispatched, finished, running, fresh].map((e) => e!.id));
      const listed = async (queuedBefore?: Date) =>
        (await store.unfinished(['queued', 'dispatched'], 60_000, 500, queuedBefore)).map((r) => r.id).filter((id) => ours.has(id));

      assert.deepEqual(await listed(), [old!.id, olderDispatched!.id]);
      assert.deepEqual(await listed(new Date(Date.now() - 7 * 60_000)), [old!.id]);
      assert.deepEqual(await listed(new Date(Date.now() - 60 * 60_000)), []);
    });
  });
});

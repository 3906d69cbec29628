// Dispatch marks against real PostgreSQL: written shortly after, in one statement for what
// gathered meanwhile, never for an execution that ended first; a failed write is logged
// and leaves the executions queued (the sweeper's case), never an unhandled rejection.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { DispatchMarks } from '../../../scheduler/intake/dispatch-marks.ts';
import { ExecutionStore } from '../../../shared/db/stores/execution-store.ts';
import { TestSystem, type TestAccount } from '../../helpers/test-system.ts';

describe('dispatch marks (real PostgreSQL)', function () {
  this.timeout(30_000);
  let system: TestSystem;
  let account: TestAccount;
  let agentId: number;
  let statements: number;
  let store: ExecutionStore;

  before(async () => {
    system = await TestSystem.create('marks');
    account = await system.createAccount('marks');
    agentId = await system.createAgent(account.id, 'marked');
    class CountingStore extends ExecutionStore {
      override async markDispatchedMany(...args: Parameters<ExecutionStore['markDispatchedMany']>) {
        statements++;
        return super.markDispatchedMany(...args);
      }
    }
    store = new CountingStore(system.db);
  });

  beforeEach(() => (statements = 0));

  after(async () => {
    await system?.stop();
  });

  const state = async (id: number) => (await system.db.query(`SELECT status, pool FROM executions WHERE id = $1`, [id]))[0] as { status: string; pool: string | null };

  it('marks what gathered within the delay in one statement, after the delay', async () => {
    const ids = await Promise.all([1, 2, 3].map(() => system.queueExecution(account.id, agentId)));
    const marks = new DispatchMarks(store, () => false, pino({ level: 'silent' }), 100);
    marks.add([{ id: ids[0]!, pool: 'standard' }]);
    marks.add([{ id: ids[1]!, pool: 'standard' }, { id: ids[2]!, pool: 'tee' }]);
    assert.equal((await state(ids[0]!)).status, 'queued', 'not yet');
    await sleep(250);
    assert.equal(statements, 1);
    assert.deepEqual(await Promise.all(ids.map(state)), [
      { status: 'dispatched', pool: 'standard' },
      { status: 'dispatched', pool: 'standard' },
      { status: 'dispatched', pool: 'tee' },
    ]);
  });

  it('leaves out executions that ended before the mark, and writes nothing when none is left', async () => {
    const [ended, running] = await Promise.all([1, 2].map(() => system.queueExecution(account.id, agentId)));
    const marks = new DispatchMarks(store, (id) => id === ended, pino({ level: 'silent' }), 10_000);
    marks.add([{ id: ended!, pool: 'standard' }, { id: running!, pool: 'standard' }]);
    await marks.flush();
    assert.equal((await state(ended!)).status, 'queued', 'no mark for an ended execution');
    assert.equal((await state(running!)).status, 'dispatched');
    marks.add([{ id: ended!, pool: 'standard' }]);
    await marks.flush();
    assert.equal(statements, 1, 'nothing left to mark, no statement');
  });

  it('logs a failed write and leaves the executions queued', async () => {
    const id = await system.queueExecution(account.id, agentId);
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(String(JSON.parse(line).msg)) });
    const failing = { markDispatchedMany: async () => Promise.reject(new Error('database away')) };
    const marks = new DispatchMarks(failing, () => false, log, 10_000);
    marks.add([{ id, pool: 'standard' }]);
    await marks.flush();
    assert.equal((await state(id)).status, 'queued');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /dispatch marks not written/);
  });
});

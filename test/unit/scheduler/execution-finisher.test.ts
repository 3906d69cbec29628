// The execution finisher against real PostgreSQL and Redis: one write of the final state,
// the slot released, a result frame for live progress, and a done notice only for the
// executions a synchronous caller waits for (every api process receives each notice).
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ExecutionFinisher } from '../../../scheduler/execution-finisher.ts';
import { ExecutionStore } from '../../../shared/db/stores/execution-store.ts';
import { doneNoticeSchema, type DoneNotice } from '../../../shared/execution/protocol.ts';
import { redisKeys, type RedisKeys } from '../../../shared/redis/keys.ts';
import { TEST_REDIS_URL } from '../../helpers/test-redis.ts';
import { TestSystem, type TestAccount } from '../../helpers/test-system.ts';
import { waitFor } from '../../helpers/wait-for.ts';

describe('execution finisher (real PostgreSQL and Redis)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  let account: TestAccount;
  let agentId: number;
  let store: ExecutionStore;
  let keys: RedisKeys;
  let redis: Redis;
  let subscriber: Redis;
  let finisher: ExecutionFinisher;
  const notices: DoneNotice[] = [];
  const frames: { executionId: number; type: string; status: string }[] = [];

  before(async () => {
    system = await TestSystem.create('finisher');
    account = await system.createAccount('finisher');
    agentId = await system.createAgent(account.id, 'finishable');
    store = new ExecutionStore(system.db);
    keys = redisKeys(system.redisPrefix);
    redis = new Redis(TEST_REDIS_URL);
    subscriber = new Redis(TEST_REDIS_URL);
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === keys.executionDoneChannel) notices.push(doneNoticeSchema.parse(JSON.parse(message)));
      else frames.push(JSON.parse(message));
    });
    await subscriber.subscribe(keys.executionDoneChannel, keys.progressChannel(account.id));
    finisher = new ExecutionFinisher(store, redis, keys, pino({ level: 'silent' }));
  });

  after(async () => {
    subscriber?.disconnect();
    redis?.disconnect();
    await system?.stop();
  });

  const queued = (awaited: boolean) => system.queueExecution(account.id, agentId, { awaited });

  it('publishes a done notice, carrying the execution, only for an execution a caller waits for; a result frame for both', async () => {
    const waited = await queued(true);
    const unwaited = await queued(false);
    const slots = keys.agentRunningKey(account.id, agentId);
    await redis.zadd(slots, Date.now() + 60_000, String(waited), Date.now() + 60_000, String(unwaited));

    const rows = await finisher.finishMany([
      { executionId: unwaited, fields: { status: 'completed', output: { n: 2 } }, audits: [] },
      { executionId: waited, fields: { status: 'completed', output: { n: 1 } }, audits: [] },
    ]);
    assert.deepEqual(rows.map((r) => r.id).sort(), [waited, unwaited].sort());

    await waitFor(async () => frames.filter((f) => f.type === 'result').map((f) => f.executionId).sort(), (ids) => ids.length === 2, { what: 'both result frames' });
    assert.deepEqual(frames.filter((f) => f.type === 'result').map((f) => f.executionId).sort(), [waited, unwaited].sort());
    // The notice is published in the same pipeline as the frames, before them for `waited`:
    // by now it has arrived if it was sent at all.
    assert.deepEqual(notices.map((n) => n.executionId), [waited]);
    assert.equal(notices[0]!.status, 'completed');
    assert.deepEqual(notices[0]!.execution?.output, { n: 1 }, 'the notice carries the execution');
    assert.equal(await redis.zcard(slots), 0, 'both slots released');
  });

  it('answers a second ending of an execution it ended itself without a statement; others still go to the database', async () => {
    let statements = 0;
    class CountingStore extends ExecutionStore {
      override async finalizeMany(...args: Parameters<ExecutionStore['finalizeMany']>) {
        statements++;
        return super.finalizeMany(...args);
      }
    }
    const own = new ExecutionFinisher(new CountingStore(system.db), redis, keys, pino({ level: 'silent' }));
    const late = { status: 'failed' as const, error: { code: 'late', message: 'too late' } };
    const id = await queued(false);
    assert.ok(await own.finish(id, { status: 'completed', output: 1 }, []));
    assert.equal(statements, 1);
    assert.equal(await own.finish(id, late, []), null);
    assert.deepEqual(await own.finishMany([{ executionId: id, fields: late, audits: [] }]), []);
    assert.equal(statements, 1, 'no statement for an ending already written here');
    // Ended by another process (here: another finisher): the database decides, and keeps the first.
    const other = await queued(false);
    assert.ok(await finisher.finish(other, { status: 'completed', output: 2 }, []));
    assert.equal(await own.finish(other, late, []), null);
    assert.equal(statements, 2);
    assert.equal((await store.getById(other))!.status, 'completed');
  });

  it('writes a final state once: a second ending of the same execution changes nothing and notifies nobody', async () => {
    const id = await queued(true);
    notices.length = 0;
    assert.ok(await finisher.finish(id, { status: 'completed', output: 1 }, []));
    await waitFor(async () => notices.length, (n) => n === 1, { what: 'the done notice' });
    assert.equal(await finisher.finish(id, { status: 'failed', error: { code: 'late', message: 'too late' } }, []), null);
    assert.equal((await store.getById(id))!.status, 'completed');
    const frameCount = frames.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(notices.length, 1, 'no second notice');
    assert.equal(frames.length, frameCount, 'no second frame');
  });
});

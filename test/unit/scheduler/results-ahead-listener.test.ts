// The results-ahead listener against real PostgreSQL and Redis: an ending published ahead
// of its report is written at once, the report that follows changes nothing, and what is
// malformed or not JSON is dropped without writing anything.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ExecutionFinisher } from '../../../scheduler/execution-finisher.ts';
import { startResultsAheadListener } from '../../../scheduler/results/results-ahead-listener.ts';
import { persistNodeMessages, type ResultsDeps } from '../../../scheduler/results/results-consumer.ts';
import { loadConfig } from '../../../shared/config.ts';
import { ExecutionStore } from '../../../shared/db/stores/execution-store.ts';
import type { NodeMessage } from '../../../shared/execution/protocol.ts';
import type { Closable } from '../../../shared/process/lifecycle.ts';
import { redisKeys, type RedisKeys } from '../../../shared/redis/keys.ts';
import { TEST_REDIS_URL } from '../../helpers/test-redis.ts';
import { TestSystem, type TestAccount } from '../../helpers/test-system.ts';
import { waitFor } from '../../helpers/wait-for.ts';

describe('results-ahead listener (real PostgreSQL and Redis)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  let account: TestAccount;
  let agentId: number;
  let store: ExecutionStore;
  let keys: RedisKeys;
  let redis: Redis;
  let deps: ResultsDeps;
  let listener: Closable;

  before(async () => {
    system = await TestSystem.create('resultsahead');
    account = await system.createAccount('ahead');
    agentId = await system.createAgent(account.id, 'ahead');
    store = new ExecutionStore(system.db);
    keys = redisKeys(system.redisPrefix);
    redis = new Redis(TEST_REDIS_URL);
    const log = pino({ level: 'silent' });
    deps = { config: loadConfig({}), executions: store, finisher: new ExecutionFinisher(store, redis, keys, log), log };
    listener = await startResultsAheadListener({
      subscriber: new Redis(TEST_REDIS_URL),
      keys,
      persist: (messages, source) => persistNodeMessages(deps, messages, source),
      log,
    });
  });

  after(async () => {
    await listener?.close();
    redis?.disconnect();
    await system?.stop();
  });

  const queued = () => system.queueExecution(account.id, agentId, { awaited: true });

  function finished(executionId: number, output: unknown): NodeMessage {
    const at = new Date();
    return {
      type: 'finished',
      executionId,
      accountId: account.id,
      agentId,
      nodeId: 'node-ahead',
      at: at.toISOString(),
      attempt: 1,
      startedAt: new Date(at.getTime() - 5).toISOString(),
      result: { status: 'completed', output, error: null, resource_usage: { cpu_ms: 1 }, host_call_audit: [], logs: [], violation_count: 0, was_terminated: false },
    };
  }

  it('writes an ending published ahead; the report that follows changes nothing', async () => {
    const id = await queued();
    await redis.publish(keys.resultsAheadChannel, JSON.stringify(finished(id, { first: true })));
    const row = await waitFor(() => store.getById(id), (r) => r?.status === 'completed', { what: 'the ahead ending written' });
    assert.deepEqual(row!.output, { first: true });
    assert.equal(row!.node_id, 'node-ahead');

    await persistNodeMessages(deps, [finished(id, { second: true })], 'report');
    const after = await store.getById(id);
    assert.deepEqual(after!.output, { first: true }, 'the first ending stays');
    assert.equal(after!.finished_at!.getTime(), row!.finished_at!.getTime());
  });

  it('drops what is not JSON, not a node message, or too large, and writes nothing for it', async () => {
    const id = await queued();
    const { result: _r, ...noResult } = finished(id, null) as Extract<NodeMessage, { type: 'finished' }>;
    await redis.publish(keys.resultsAheadChannel, '{not json');
    await redis.publish(keys.resultsAheadChannel, JSON.stringify(noResult));
    await redis.publish(keys.resultsAheadChannel, JSON.stringify({ ...finished(id, 'x'.repeat(300 * 1024)) }));
    // A valid ending for another execution, published last, shows the earlier ones were handled.
    const marker = await queued();
    await redis.publish(keys.resultsAheadChannel, JSON.stringify(finished(marker, 1)));
    await waitFor(() => store.getById(marker), (r) => r?.status === 'completed', { what: 'the marker ending' });
    await sleep(50);
    const row = await store.getById(id);
    assert.equal(row!.status, 'queued', 'nothing was written for the bad messages');
    assert.equal(row!.finished_at, null);
  });
});

// The results publisher against real Redis: messages sent together share one report job,
// send() resolves once its message is in the results queue, an invalid message is refused
// without touching Redis, and close() waits for what is still being sent.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ResultsPublisher } from '../../../../executor-node/execution/results-publisher.ts';
import { QUEUES, type NodeMessage, type NodeReport } from '../../../../shared/execution/protocol.ts';
import { deleteRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from '../../../helpers/test-redis.ts';

function started(executionId: number): NodeMessage {
  return { type: 'started', executionId, accountId: 3, agentId: 5, nodeId: 'node-test', at: new Date().toISOString(), attempt: 1 };
}

function finished(executionId: number): NodeMessage {
  const at = new Date();
  return {
    type: 'finished',
    executionId,
    accountId: 3,
    agentId: 5,
    nodeId: 'node-test',
    at: at.toISOString(),
    attempt: 1,
    startedAt: new Date(at.getTime() - 20).toISOString(),
    result: { status: 'completed', output: { n: executionId }, error: null },
  };
}

describe('ResultsPublisher (real Redis)', function () {
  this.timeout(30_000);
  let prefix: string;
  let connection: Redis;
  let publisher: ResultsPublisher;
  let reader: Redis;
  let results: Queue<NodeReport>;

  /** The reports waiting in the results queue, oldest first. */
  async function reports(): Promise<NodeReport[]> {
    const jobs = await results.getJobs(['wait']);
    return jobs.sort((a, b) => Number(a.id) - Number(b.id)).map((job) => job.data);
  }

  beforeEach(() => {
    prefix = testRedisPrefix('results');
    connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    publisher = new ResultsPublisher(connection, prefix, `${prefix}:chan:results-ahead`);
    reader = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    results = new Queue<NodeReport>(QUEUES.results, { connection: reader, prefix });
  });

  afterEach(async () => {
    await publisher.close();
    await results.close();
    connection.disconnect();
    reader.disconnect();
    await deleteRedisPrefix(prefix);
  });

  it('carries 50 messages sent in one turn in fewer than 3 reports, every message once and in order', async () => {
    const sent = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? started(i + 1) : finished(i + 1)));
    await Promise.all(sent.map((m) => publisher.send(m)));
    const waiting = await reports();
    assert.ok(waiting.length >= 1 && waiting.length < 3, `${waiting.length} reports`);
    assert.deepEqual(waiting.flatMap((r) => r.messages), sent);
  });

  it('has a single message in Redis by the time send() resolves', async () => {
    const message = finished(7);
    await publisher.send(message);
    assert.deepEqual(await reports(), [{ messages: [message] }]);
  });

  it('rejects an invalid message and adds nothing for it, while a valid one sent with it goes alone', async () => {
    const { result: _dropped, ...missingResult } = finished(9) as Extract<NodeMessage, { type: 'finished' }>;
    const invalid = [
      missingResult as unknown as NodeMessage,
      { ...started(10), executionId: -1 },
      { ...started(11), attempt: 0 },
      { ...started(12), extra: true } as unknown as NodeMessage,
    ];
    const valid = started(13);
    const outcomes = await Promise.allSettled([...invalid.map((m) => publisher.send(m)), publisher.send(valid)]);
    assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected', 'rejected', 'rejected', 'fulfilled']);
    await sleep(50); // nothing else is on its way
    assert.deepEqual(await reports(), [{ messages: [valid] }]);

    await assert.rejects(publisher.send(invalid[0]!));
    await sleep(50);
    assert.equal(await results.count(), 1, 'a refused message sent alone adds no report');
  });

  it('with ahead, publishes the message on the results-ahead channel as well as in a report; an invalid one goes nowhere', async () => {
    const listener = new Redis(TEST_REDIS_URL);
    const heard: unknown[] = [];
    listener.on('message', (_channel: string, text: string) => heard.push(JSON.parse(text)));
    await listener.subscribe(`${prefix}:chan:results-ahead`);
    const delayed = new ResultsPublisher(connection, prefix, `${prefix}:chan:results-ahead`, 300);
    try {
      const awaited = finished(21);
      const sent = delayed.send(awaited, { ahead: true });
      await delayed.send(finished(22));
      await assert.rejects(delayed.send({ ...finished(23), executionId: -1 }, { ahead: true }));
      await sleep(50);
      assert.deepEqual(heard, [awaited], 'only the message sent ahead, once');
      // A scheduler heard it: its report is a backup and waits to travel with others.
      assert.deepEqual((await reports()).flatMap((r) => r.messages).map((m) => m.executionId), [22], 'the heard ending is not reported yet');
      await sent;
      assert.deepEqual((await reports()).flatMap((r) => r.messages).map((m) => m.executionId), [22, 21], 'then it is');
    } finally {
      await delayed.close();
      listener.disconnect();
    }
  });

  it('reports an ending sent ahead at once when nobody heard it, and close() reports the ones still held back', async () => {
    const delayed = new ResultsPublisher(connection, prefix, `${prefix}:chan:results-ahead`, 60_000);
    await delayed.send(finished(31), { ahead: true });
    assert.deepEqual((await reports()).flatMap((r) => r.messages).map((m) => m.executionId), [31], 'no subscriber: reported at once');

    const listener = new Redis(TEST_REDIS_URL);
    await listener.subscribe(`${prefix}:chan:results-ahead`);
    try {
      let reported = false;
      const held = delayed.send(finished(32), { ahead: true }).then(() => (reported = true));
      await sleep(50);
      assert.equal(reported, false, 'heard: held back');
      await delayed.close();
      await held;
      assert.deepEqual((await reports()).flatMap((r) => r.messages).map((m) => m.executionId), [31, 32], 'close() reported it');
    } finally {
      listener.disconnect();
    }
  });

  it('close() resolves only once every pending send is in Redis', async () => {
    const sent = Array.from({ length: 20 }, (_, i) => finished(100 + i));
    let delivered = 0;
    const sends = sent.map((m) => publisher.send(m).then(() => delivered++));
    await publisher.close();
    assert.equal(delivered, sent.length, 'every send had resolved when close() did');
    await Promise.all(sends);
    assert.deepEqual((await reports()).flatMap((r) => r.messages), sent);
  });
});

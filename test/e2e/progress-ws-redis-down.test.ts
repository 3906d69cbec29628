// Live progress while Redis is down: a client that cannot be subscribed to its account's
// channel is told so and closed, and a client after Redis is back gets its subscription.
// The system runs against a redis-server of this suite's own, so the machine's Redis is never touched.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { redisKeys } from '../../shared/redis/keys.ts';
import type { HttpClient } from '../helpers/http-client.ts';
import { PrivateRedis } from '../helpers/private-redis.ts';
import { TestSystem, type TestAccount } from '../helpers/test-system.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('live progress with Redis down (e2e)', function () {
  this.timeout(60_000);
  let redis: PrivateRedis;
  let system: TestSystem;
  let account: TestAccount;
  let api: HttpClient;

  before(async () => {
    redis = await PrivateRedis.start();
    system = await TestSystem.create('wsdown', { redisUrl: redis.url });
    account = await system.createAccount('watcher');
    api = await system.startApi();
  });
  after(async () => {
    await system?.stop();
    await redis?.stop();
  });

  function connect(): { ws: WebSocket; frames: any[]; closed: Promise<number> } {
    const ws = new WebSocket(`${api.baseUrl.replace('http', 'ws')}/api/v1/sdk/ws`, { headers: { authorization: `Bearer ${account.adminKey}` } });
    const frames: any[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data))));
    ws.on('error', () => undefined);
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    return { ws, frames, closed };
  }

  it('answers unavailable and closes with 4503 while Redis is down, and subscribes the next client once it is back', async () => {
    await redis.kill();
    const refused = connect();
    assert.equal(await refused.closed, 4503);
    assert.deepEqual(refused.frames.map((f) => [f.type, f.code]), [['error', 'unavailable']]);

    await redis.up();
    const observer = new Redis(redis.url);
    try {
      const channel = redisKeys(system.redisPrefix).progressChannel(account.id);
      const numsub = async () => Number(((await observer.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1]);
      // The api's subscriber reconnects on its own schedule; a client arriving before that waits for it.
      const accepted = connect();
      await waitFor(async () => accepted.frames, (f) => f.some((x) => x.type === 'authenticated'), { timeoutMs: 20_000, what: 'authentication' });
      assert.equal(await numsub(), 1);
      accepted.ws.close();
      await waitFor(numsub, (n) => n === 0, { what: 'the unsubscribe after the client left' });
    } finally {
      observer.disconnect();
    }
  });
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ChannelListeners } from '../../../../api/streams/channel-listeners.ts';
import { connectRedis } from '../../../../shared/redis/connection.ts';
import { PrivateRedis } from '../../../helpers/private-redis.ts';
import { TEST_REDIS_URL, testRedisPrefix } from '../../../helpers/test-redis.ts';
import { waitFor } from '../../../helpers/wait-for.ts';

const log = pino({ level: 'silent' });

/** Subscribers of a channel on the whole Redis server, as PUBSUB NUMSUB counts them. */
async function numsub(observer: Redis, channel: string): Promise<number> {
  const reply = (await observer.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

/** Counts the SUBSCRIBE commands a connection sends; they still go to Redis. */
function countSubscribes(subscriber: Redis): { readonly count: number } {
  const counter = { count: 0 };
  const subscribe = subscriber.subscribe.bind(subscriber);
  subscriber.subscribe = ((...args: Parameters<Redis['subscribe']>) => {
    counter.count++;
    return subscribe(...args);
  }) as Redis['subscribe'];
  return counter;
}

describe('ChannelListeners (real Redis)', () => {
  const prefix = testRedisPrefix('listeners');
  let subscriber: Redis;
  let observer: Redis;
  let listeners: ChannelListeners<string>;
  beforeEach(() => {
    subscriber = connectRedis(TEST_REDIS_URL, 'test-listeners');
    observer = new Redis(TEST_REDIS_URL);
    listeners = new ChannelListeners<string>(subscriber, log, 5000);
  });
  afterEach(() => {
    subscriber.disconnect();
    observer.disconnect();
  });

  it('subscribes while a channel has listeners and unsubscribes when the last one leaves', async () => {
    const channel = `${prefix}:a`;
    assert.equal(await numsub(observer, channel), 0);
    await listeners.join(channel, 'one');
    assert.equal(await numsub(observer, channel), 1);
    await listeners.join(channel, 'two');
    listeners.leave(channel, 'one');
    assert.deepEqual([...(listeners.listenersOf(channel) ?? [])], ['two']);
    assert.equal(await numsub(observer, channel), 1);
    listeners.leave(channel, 'two');
    assert.equal(listeners.listenersOf(channel), undefined);
    await waitFor(() => numsub(observer, channel), (n) => n === 0, { what: 'the unsubscribe' });
  });

  it('sends one SUBSCRIBE for concurrent joins, and resolves them all once it is confirmed', async () => {
    const subscribes = countSubscribes(subscriber);
    const channel = `${prefix}:b`;
    await Promise.all(['one', 'two', 'three'].map((l) => listeners.join(channel, l)));
    assert.equal(subscribes.count, 1);
    assert.equal(await numsub(observer, channel), 1);
    assert.equal(listeners.listenersOf(channel)?.size, 3);
  });

  it('ends up subscribed when a listener joins while the unsubscribe is in flight', async () => {
    const channel = `${prefix}:c`;
    await listeners.join(channel, 'one');
    listeners.leave(channel, 'one'); // UNSUBSCRIBE sent, not yet answered
    await listeners.join(channel, 'two');
    assert.equal(await numsub(observer, channel), 1);
    const received = once(subscriber, 'message');
    await observer.publish(channel, 'hello');
    assert.deepEqual(await received, [channel, 'hello']);
  });

  describe('with Redis down', () => {
    let redis: PrivateRedis;
    before(async () => {
      redis = await PrivateRedis.start();
    });
    after(async () => {
      await redis?.stop();
    });

    it('rejects the join in time, keeps no listener, and undoes the late SUBSCRIBE; a later join retries', async () => {
      const down = connectRedis(redis.url, 'test-listeners-down');
      down.on('error', () => undefined); // refused while Redis is down: expected
      const shortWait = new ChannelListeners<string>(down, log, 300);
      const channel = `${prefix}:d`;
      try {
        await shortWait.join(channel, 'keep-open');
        await redis.kill();
        await assert.rejects(shortWait.join(`${channel}:late`, 'one'), /not confirmed within 300 ms/);
        assert.equal(shortWait.listenersOf(`${channel}:late`), undefined);
        const reconnected = new Promise((resolve) => down.once('ready', resolve));
        await redis.up();
        await reconnected;
        const up = new Redis(redis.url);
        try {
          // Sent after the queued SUBSCRIBE and its undoing UNSUBSCRIBE: once confirmed, both have run.
          await shortWait.join(`${channel}:after`, 'one');
          assert.equal(await numsub(up, `${channel}:late`), 0, 'the late SUBSCRIBE was undone');
          assert.equal(await numsub(up, channel), 1, 'ioredis re-subscribed the channel that had a listener');
          await shortWait.join(`${channel}:late`, 'two');
          assert.equal(await numsub(up, `${channel}:late`), 1);
        } finally {
          up.disconnect();
        }
      } finally {
        down.disconnect();
      }
    });
  });
});

// CoalescingBatcher: items travel alone at rest and together under load, within maxBatch,
// maxInFlight and minIntervalMs; a failed batch rejects only its own items; idle() waits
// for everything.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoalescingBatcher } from '../../../../shared/process/coalescing-batcher.ts';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A handler that answers its items and notes when each batch started, and what it held. */
function timed() {
  const starts: number[] = [];
  const batches: number[][] = [];
  const handle = async (items: number[]) => {
    starts.push(performance.now());
    batches.push([...items]);
    return items;
  };
  /** Asserts that every batch from `from` on started at least intervalMs (less 1 ms of slack) after the one before. */
  const assertSpaced = (intervalMs: number, from = 1) => {
    for (let i = Math.max(1, from); i < starts.length; i++) {
      const gap = starts[i]! - starts[i - 1]!;
      assert.ok(gap >= intervalMs - 1, `batch ${i} started ${gap.toFixed(2)} ms after the one before`);
    }
  };
  return { starts, batches, handle, assertSpaced };
}

/** A handler that doubles numbers and keeps every batch it was given. */
function recording() {
  const batches: number[][] = [];
  const handle = async (items: number[]) => {
    batches.push([...items]);
    return items.map((n) => n * 2);
  };
  return { batches, handle };
}

/** A handler whose batches stay in flight until released, counting how many run at once. */
function held() {
  const batches: number[][] = [];
  const gates: Deferred[] = [];
  let active = 0;
  let maxActive = 0;
  const handle = async (items: number[]) => {
    batches.push([...items]);
    active++;
    maxActive = Math.max(maxActive, active);
    const gate = deferred();
    gates.push(gate);
    await gate.promise;
    active--;
    return items.map((n) => n * 2);
  };
  return {
    batches,
    gates,
    handle,
    get active() {
      return active;
    },
    get maxActive() {
      return maxActive;
    },
  };
}

describe('CoalescingBatcher', () => {
  it('handles an item submitted at rest alone, at the next turn of the event loop', async () => {
    const { batches, handle } = recording();
    const batcher = new CoalescingBatcher(handle, { maxBatch: 100, maxInFlight: 1 });
    const result = batcher.submit(7);
    assert.deepEqual(batches, [], 'nothing is handled synchronously');
    await nextTurn();
    assert.deepEqual(batches, [[7]]);
    assert.equal(await result, 14);
  });

  it('puts items submitted in the same turn into one batch and answers each its own result', async () => {
    const { batches, handle } = recording();
    const batcher = new CoalescingBatcher(handle, { maxBatch: 100, maxInFlight: 4 });
    const results = await Promise.all([1, 2, 3, 4].map((n) => batcher.submit(n)));
    assert.deepEqual(batches, [[1, 2, 3, 4]]);
    assert.deepEqual(results, [2, 4, 6, 8]);
  });

  it('splits what is waiting into batches of at most maxBatch, in order', async () => {
    const { batches, handle } = recording();
    const batcher = new CoalescingBatcher(handle, { maxBatch: 2, maxInFlight: 10 });
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.submit(n)));
    assert.deepEqual(batches, [[1, 2], [3, 4], [5]]);
    assert.deepEqual(results, [2, 4, 6, 8, 10]);
  });

  it('never has more than maxInFlight handler calls running at once', async () => {
    const handler = held();
    const batcher = new CoalescingBatcher(handler.handle, { maxBatch: 1, maxInFlight: 2 });
    const results = Promise.all([1, 2, 3, 4, 5].map((n) => batcher.submit(n)));
    await nextTurn();
    assert.equal(handler.active, 2, 'the limit is used');
    for (let released = 0; released < 5; released++) {
      await sleep(5);
      assert.ok(handler.active <= 2, `${handler.active} batches in flight`);
      handler.gates[released]!.resolve();
    }
    assert.deepEqual(await results, [2, 4, 6, 8, 10]);
    assert.equal(handler.maxActive, 2);
    assert.deepEqual(handler.batches, [[1], [2], [3], [4], [5]]);
  });

  it('holds items submitted while the limit is reached, then sends them together', async () => {
    const handler = held();
    const batcher = new CoalescingBatcher(handler.handle, { maxBatch: 100, maxInFlight: 1 });
    const first = batcher.submit(1);
    await nextTurn();
    const later = [batcher.submit(2), batcher.submit(3)];
    await nextTurn();
    later.push(batcher.submit(4));
    await sleep(10);
    assert.deepEqual(handler.batches, [[1]], 'nothing else starts while the only slot is taken');
    handler.gates[0]!.resolve();
    assert.equal(await first, 2);
    await nextTurn();
    assert.deepEqual(handler.batches, [[1], [2, 3, 4]]);
    handler.gates[1]!.resolve();
    assert.deepEqual(await Promise.all(later), [4, 6, 8]);
  });

  it('rejects every item of a batch whose handler throws, and only those', async () => {
    const failure = new Error('downstream said no');
    const batcher = new CoalescingBatcher(
      async (items: number[]) => {
        if (items.includes(-1)) throw failure;
        return items.map((n) => n * 2);
      },
      { maxBatch: 2, maxInFlight: 4 },
    );
    const outcomes = await Promise.allSettled([1, -1, 3, 4].map((n) => batcher.submit(n)));
    assert.deepEqual(outcomes, [
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
      { status: 'fulfilled', value: 6 },
      { status: 'fulfilled', value: 8 },
    ]);
    assert.equal(await batcher.submit(5), 10, 'the batcher keeps working after a failed batch');
  });

  it('rejects the items of a batch whose handler answers the wrong number of results', async () => {
    const batcher = new CoalescingBatcher(async (items: number[]) => items.slice(1), { maxBatch: 10, maxInFlight: 1 });
    const outcomes = await Promise.allSettled([1, 2].map((n) => batcher.submit(n)));
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 'rejected');
      assert.match(String((outcome as PromiseRejectedResult).reason), /answered 1 results for 2 items/);
    }
  });

  it('with minIntervalMs, never holds back items that come one at a time at a request-response pace', async () => {
    const { batches, handle } = recording();
    const batcher = new CoalescingBatcher(handle, { maxBatch: 100, maxInFlight: 4, minIntervalMs: 40 });
    for (let i = 1; i <= 6; i++) {
      const started = performance.now();
      await batcher.submit(i);
      assert.ok(performance.now() - started < 20, `item ${i} went at once, not after the 40 ms interval`);
      await sleep(12); // a caller that sends the next request after this one was answered
    }
    assert.deepEqual(batches, [[1], [2], [3], [4], [5], [6]]);
  });

  it('with minIntervalMs, holds items back once they stream in, and sends the first after a quiet spell at once again', async () => {
    const { batches, handle } = recording();
    const batcher = new CoalescingBatcher(handle, { maxBatch: 100, maxInFlight: 4, minIntervalMs: 40 });
    const stream: Promise<number>[] = [];
    for (let i = 0; i < 30; i++) {
      stream.push(batcher.submit(i));
      await sleep(1);
    }
    await Promise.all(stream);
    assert.ok(batches.length < 25, `a stream shares batches (${batches.length} batches for 30 items)`);
    const held = batcher.submit(100);
    await nextTurn();
    assert.ok(!batches.some((b) => b.includes(100)), 'an item right after a stream waits for the interval');
    await held;
    await sleep(100); // a quiet spell
    void batcher.submit(200);
    await nextTurn();
    assert.deepEqual(batches.at(-1), [200], 'the first item after a quiet spell goes at once');
  });

  it('with minIntervalMs, starts batches of a steady stream at least that far apart and groups the items', async () => {
    const intervalMs = 20;
    const { batches, handle, assertSpaced } = timed();
    const batcher = new CoalescingBatcher(handle, { maxBatch: 1000, maxInFlight: 4, minIntervalMs: intervalMs });
    const submitted: Promise<number>[] = [];
    for (let i = 0; i < 60; i++) {
      submitted.push(batcher.submit(i));
      await sleep(2);
    }
    assert.deepEqual(await Promise.all(submitted), Array.from({ length: 60 }, (_, i) => i));
    assert.deepEqual(batches.flat(), Array.from({ length: 60 }, (_, i) => i), 'every item once, in order');
    assert.ok(batches.length < 60 / 2, `${batches.length} batches for 60 items`);
    const grouped = batches.findIndex((b) => b.length > 1);
    assert.ok(grouped > 0 && grouped < 15, `the stream was recognized within 15 items (batch ${grouped})`);
    assertSpaced(intervalMs, grouped);
  });

  it('with minIntervalMs, starts what waits once the interval is over while a slow batch is still in flight', async () => {
    const starts: number[] = [];
    const release = deferred();
    const batcher = new CoalescingBatcher(
      async (items: number[]) => {
        starts.push(performance.now());
        await release.promise;
        return items;
      },
      { maxBatch: 1, maxInFlight: 2, minIntervalMs: 5 },
    );
    const t0 = performance.now();
    const all = Promise.all([1, 2, 3].map((n) => batcher.submit(n)));
    await sleep(100);
    assert.equal(starts.length, 2, 'the second slot is used after the interval, without waiting for the first batch to end');
    assert.ok(starts[1]! - t0 >= 4, 'but not before the interval');
    release.resolve();
    assert.deepEqual(await all, [1, 2, 3]);
  });

  it('with minIntervalMs, spaces out the batches of a backlog larger than maxBatch too', async () => {
    const intervalMs = 20;
    const { batches, handle, assertSpaced } = timed();
    const batcher = new CoalescingBatcher(handle, { maxBatch: 2, maxInFlight: 4, minIntervalMs: intervalMs });
    await Promise.all([1, 2, 3, 4, 5, 6].map((n) => batcher.submit(n)));
    assert.deepEqual(batches, [[1, 2], [3, 4], [5, 6]]);
    assertSpaced(intervalMs);
  });

  it('idle() resolves only once everything submitted was handled', async () => {
    const handler = held();
    const batcher = new CoalescingBatcher(handler.handle, { maxBatch: 2, maxInFlight: 1 });
    await batcher.idle(); // at rest: resolves at once
    const results = [1, 2, 3].map((n) => batcher.submit(n));
    let settled = 0;
    for (const r of results) void r.then(() => settled++);
    let idle = false;
    const idling = batcher.idle().then(() => (idle = true));
    assert.equal(batcher.size, 3);
    await sleep(10);
    assert.equal(idle, false, 'nothing was handled yet');
    handler.gates[0]!.resolve();
    await sleep(10);
    assert.equal(idle, false, 'the second batch is still in flight');
    assert.deepEqual(handler.batches, [[1, 2], [3]]);
    handler.gates[1]!.resolve();
    await idling;
    assert.equal(settled, 3, 'every item was answered before idle() resolved');
    assert.equal(batcher.size, 0);
  });

  it('refuses maxBatch or maxInFlight below 1', () => {
    const handle = async (items: number[]) => items;
    assert.throws(() => new CoalescingBatcher(handle, { maxBatch: 0, maxInFlight: 1 }), RangeError);
    assert.throws(() => new CoalescingBatcher(handle, { maxBatch: 1, maxInFlight: 0 }), RangeError);
    assert.throws(() => new CoalescingBatcher(handle, { maxBatch: Number.NaN, maxInFlight: 1 }), RangeError);
    assert.doesNotThrow(() => new CoalescingBatcher(handle, { maxBatch: 1, maxInFlight: 1 }));
  });
});

import assert from 'node:assert/strict';
import { ReadThroughCache } from '../../../../shared/cache/read-through-cache.ts';

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('ReadThroughCache', () => {
  it('loads once and answers from memory until the TTL runs out, null values included', async () => {
    let now = 0;
    let loads = 0;
    const cache = new ReadThroughCache<number, string | null>({ ttlMs: 1000, maxEntries: 10, now: () => now });
    const load = async () => (loads++, null);
    assert.equal(await cache.get(1, load), null);
    assert.equal(await cache.get(1, load), null);
    assert.equal(loads, 1);
    now = 999;
    await cache.get(1, load);
    assert.equal(loads, 1);
    now = 1000;
    await cache.get(1, load);
    assert.equal(loads, 2);
  });

  it('keeps only what `keep` accepts', async () => {
    let loads = 0;
    const cache = new ReadThroughCache<number, string | null>({ ttlMs: 60_000, maxEntries: 10 });
    const load = async () => (loads++, null);
    await cache.get(1, load, (v) => v !== null);
    await cache.get(1, load, (v) => v !== null);
    assert.equal(loads, 2);
  });

  it('evicts one key on invalidate and every key on flush', async () => {
    let loads = 0;
    const cache = new ReadThroughCache<number, number>({ ttlMs: 60_000, maxEntries: 10 });
    const load = (v: number) => async () => (loads++, v);
    await cache.get(1, load(1));
    await cache.get(2, load(2));
    cache.invalidate(1);
    assert.equal(await cache.get(1, load(10)), 10);
    assert.equal(await cache.get(2, load(20)), 2);
    assert.equal(loads, 3);
    cache.flush();
    assert.equal(await cache.get(2, load(20)), 20);
  });

  it('answers but does not keep a load that raced an invalidation', async () => {
    const gate = deferred<string>();
    let loads = 0;
    const cache = new ReadThroughCache<number, string>({ ttlMs: 60_000, maxEntries: 10 });
    const pending = cache.get(1, () => (loads++, gate.promise));
    cache.invalidate(1);
    gate.resolve('stale');
    assert.equal(await pending, 'stale');
    assert.equal(await cache.get(1, async () => (loads++, 'fresh')), 'fresh');
    assert.equal(loads, 2);
  });

  it('drops the oldest entry past maxEntries and caches nothing with a zero TTL', async () => {
    let loads = 0;
    const cache = new ReadThroughCache<number, number>({ ttlMs: 60_000, maxEntries: 2 });
    for (const key of [1, 2, 3]) await cache.get(key, async () => (loads++, key));
    await cache.get(3, async () => (loads++, 3));
    await cache.get(2, async () => (loads++, 2));
    assert.equal(loads, 3, '2 and 3 are still cached');
    await cache.get(1, async () => (loads++, 1));
    assert.equal(loads, 4, '1 was dropped');

    const uncached = new ReadThroughCache<number, number>({ ttlMs: 0, maxEntries: 2 });
    let reads = 0;
    await uncached.get(1, async () => (reads++, 1));
    await uncached.get(1, async () => (reads++, 1));
    assert.equal(reads, 2);
  });
});

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { HeldBatch } from '../../../../shared/process/held-batch.ts';

describe('HeldBatch', () => {
  it('holds items added within holdMs of the first and hands them over in one call, in order', async () => {
    const calls: number[][] = [];
    const batch = new HeldBatch<number>(60, async (items) => void calls.push(items));
    const first = batch.add([1, 2]);
    await sleep(20);
    const second = batch.add([3]);
    assert.deepEqual(calls, [], 'nothing before the hold is over');
    await Promise.all([first, second]);
    assert.deepEqual(calls, [[1, 2, 3]]);
  });

  it('flush() hands over what is held at once; nothing held means no call', async () => {
    const calls: number[][] = [];
    const batch = new HeldBatch<number>(60_000, async (items) => void calls.push(items));
    const added = batch.add([7]);
    await batch.flush();
    await added;
    assert.deepEqual(calls, [[7]]);
    await batch.flush();
    assert.equal(calls.length, 1);
  });

  it('runs handler calls one after another and rejects only the items of a failed call', async () => {
    let running = 0;
    let overlapped = false;
    const batch = new HeldBatch<string>(60_000, async (items) => {
      running++;
      overlapped ||= running > 1;
      await sleep(20);
      running--;
      if (items.includes('bad')) throw new Error('handler failed');
    });
    const bad = batch.add(['bad']);
    const failed = batch.flush();
    const good = batch.add(['good']);
    const later = batch.flush();
    await assert.rejects(bad, /handler failed/);
    await assert.rejects(failed, /handler failed/);
    await good;
    await later;
    assert.equal(overlapped, false);
  });
});

import assert from 'node:assert/strict';
import { RateWindow } from '../../../../executor-node/host-api/rate-window.ts';

describe('RateWindow', () => {
  it('allows limit calls per window and frees slots as they age out', () => {
    const window = new RateWindow(3, 60_000);
    assert.equal(window.tryTake(0), true);
    assert.equal(window.tryTake(10), true);
    assert.equal(window.tryTake(20), true);
    assert.equal(window.tryTake(59_999), false);
    assert.equal(window.tryTake(60_000), true);
    assert.equal(window.tryTake(60_001), false);
    assert.equal(window.tryTake(60_020), true);
  });
});

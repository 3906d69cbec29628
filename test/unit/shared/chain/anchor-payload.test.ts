import assert from 'node:assert/strict';
import { ANCHOR_PAYLOAD_BYTES, decodeAnchorPayload, encodeAnchorPayload } from '../../../../shared/chain/anchor-payload.ts';

describe('anchor payload (TZA1 calldata)', () => {
  const payload = { merkleRoot: 'ab'.repeat(32), firstRecordId: 17n, lastRecordId: 4_000_000_000n, recordCount: 123_456n };

  it('is the fixed 60-byte layout: magic, root, first id, last id, count', () => {
    const data = encodeAnchorPayload(payload);
    assert.equal(data.length, 2 + 2 * ANCHOR_PAYLOAD_BYTES);
    assert.equal(data.slice(2, 10), '545a4131');
    assert.equal(data.slice(10, 74), 'ab'.repeat(32));
    assert.equal(data.slice(74, 90), (17).toString(16).padStart(16, '0'));
    assert.equal(data.slice(106), (123_456).toString(16).padStart(16, '0'));
    assert.deepEqual(decodeAnchorPayload(data), payload);
  });

  it('decodes nothing that is not exactly an anchor payload', () => {
    const data = encodeAnchorPayload(payload);
    assert.equal(decodeAnchorPayload(`0x00${data.slice(4)}`), null);
    assert.equal(decodeAnchorPayload(data.slice(0, -2)), null);
    assert.equal(decodeAnchorPayload(`${data}00`), null);
    assert.equal(decodeAnchorPayload('0x'), null);
    assert.equal(decodeAnchorPayload('not hex'), null);
  });

  it('refuses values that do not fit in uint64', () => {
    assert.throws(() => encodeAnchorPayload({ ...payload, recordCount: 1n << 64n }), RangeError);
    assert.throws(() => encodeAnchorPayload({ ...payload, firstRecordId: -1n }), RangeError);
  });
});

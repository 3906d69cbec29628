import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateApiKey, hashApiKey, looksLikeApiKey, displayPrefix } from '../../../../shared/keys/api-key.ts';

describe('api keys', () => {
  it('generates tzk_ keys of 43 base62 characters with a sha256 hash and 12-char prefix', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const k = generateApiKey();
      assert.match(k.key, /^tzk_[0-9A-Za-z]{43}$/);
      assert.equal(k.hash, createHash('sha256').update(k.key).digest('hex'));
      assert.equal(k.prefix, k.key.slice(0, 12));
      assert.ok(looksLikeApiKey(k.key));
      seen.add(k.key);
    }
    assert.equal(seen.size, 200);
  });

  it('hashes deterministically and rejects malformed keys', () => {
    assert.equal(hashApiKey('tzk_x'), hashApiKey('tzk_x'));
    assert.equal(looksLikeApiKey('tzk_short'), false);
    assert.equal(looksLikeApiKey(`xyz_${'a'.repeat(43)}`), false);
    assert.equal(displayPrefix('tzk_ABCDEFGHIJK'), 'tzk_ABCDEFGH');
  });
});

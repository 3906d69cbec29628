import assert from 'node:assert/strict';
import { redisKeys } from '../../../../shared/redis/keys.ts';

describe('redisKeys', () => {
  it('pins every key and channel name under the prefix', () => {
    assert.deepEqual({ ...redisKeys('tz') }, {
      prefix: 'tz',
      keyRevokedChannel: 'tz:chan:key-revoked',
      agentChangedChannel: 'tz:chan:agent-changed',
    });
  });
});

import assert from 'node:assert/strict';
import { redisKeys } from '../../../../shared/redis/keys.ts';

describe('redisKeys', () => {
  it('pins every key and channel name under the prefix', () => {
    const { auditCommittedChannel, ...names } = redisKeys('tz');
    assert.deepEqual(names, {
      prefix: 'tz',
      keyRevokedChannel: 'tz:chan:key-revoked',
      agentChangedChannel: 'tz:chan:agent-changed',
      auditStream: 'tz:audit:events',
      auditConsumerGroup: 'recorders',
      auditDeadLetterStream: 'tz:audit:dead-letter',
      auditRecorderLease: 'tz:audit:recorder-lease',
      auditCommittedPattern: 'tz:chan:audit:*',
    });
    assert.equal(auditCommittedChannel(42), 'tz:chan:audit:42');
  });
});

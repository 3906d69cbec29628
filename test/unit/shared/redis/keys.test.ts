import assert from 'node:assert/strict';
import { redisKeys } from '../../../../shared/redis/keys.ts';

describe('redisKeys', () => {
  it('pins every key and channel name under the prefix', () => {
    const {
      auditCommittedChannel,
      progressChannel,
      agentHaltKey,
      accountHaltKey,
      swarmWindowKey,
      accountWindowKey,
      agentRunningKey,
      ...names
    } = redisKeys('tz');
    assert.deepEqual(names, {
      prefix: 'tz',
      keyRevokedChannel: 'tz:chan:key-revoked',
      agentChangedChannel: 'tz:chan:agent-changed',
      auditStream: 'tz:audit:events',
      auditConsumerGroup: 'recorders',
      auditDeadLetterStream: 'tz:audit:dead-letter',
      auditRecorderLease: 'tz:audit:recorder-lease',
      auditCommittedPattern: 'tz:chan:audit:*',
      progressPattern: 'tz:chan:progress:*',
      executionDoneChannel: 'tz:chan:execution-done',
      resultsAheadChannel: 'tz:chan:results-ahead',
      intakeFastLane: 'tz:intake-fast-lane',
      killChannel: 'tz:chan:kill',
      accountHaltChangedChannel: 'tz:chan:account-halt-changed',
      nodesKey: 'tz:nodes',
      anchorerLease: 'tz:anchor:lease',
      anchorerStatus: 'tz:anchor:status',
    });
    assert.equal(auditCommittedChannel(42), 'tz:chan:audit:42');
    assert.equal(progressChannel(42), 'tz:chan:progress:42');
    assert.equal(agentHaltKey(7), 'tz:halt:agent:7');
    assert.equal(accountHaltKey(3), 'tz:halt:account:3');
    // One account's limit keys share a Redis Cluster hash slot, for the atomic slot script.
    assert.equal(swarmWindowKey(3, 'crawlers'), 'tz:limits:{a3}:swarm:crawlers');
    assert.equal(accountWindowKey(3), 'tz:limits:{a3}:account');
    assert.equal(agentRunningKey(3, 7), 'tz:limits:{a3}:running:7');
  });
});

// Every Redis key, channel and queue name, built from the configured prefix.
// Tests pin these strings: renaming one is a deployment-breaking change.

export interface RedisKeys {
  readonly prefix: string;
  /** Pub/sub: a message is the SHA-256 of a revoked key, or "*" to flush every cache. */
  readonly keyRevokedChannel: string;
  /** Pub/sub: a message is an agent id whose cached definition is stale. */
  readonly agentChangedChannel: string;
  /** Stream of audit events waiting for the recorder (consumer group `recorders`). */
  readonly auditStream: string;
  readonly auditConsumerGroup: string;
  /** Lease of the one active recorder (order of recording follows order of appending). */
  readonly auditRecorderLease: string;
  /** Stream of events the recorder could not parse, kept for an operator. */
  readonly auditDeadLetterStream: string;
  /** Pub/sub: committed audit records of one account, for live streams. */
  auditCommittedChannel(accountId: number): string;
  /** Pattern matching every account's committed-records channel. */
  readonly auditCommittedPattern: string;
}

export function redisKeys(prefix: string): RedisKeys {
  return Object.freeze({
    prefix,
    keyRevokedChannel: `${prefix}:chan:key-revoked`,
    agentChangedChannel: `${prefix}:chan:agent-changed`,
    auditStream: `${prefix}:audit:events`,
    auditConsumerGroup: 'recorders',
    auditDeadLetterStream: `${prefix}:audit:dead-letter`,
    auditRecorderLease: `${prefix}:audit:recorder-lease`,
    auditCommittedChannel: (accountId: number) => `${prefix}:chan:audit:${accountId}`,
    auditCommittedPattern: `${prefix}:chan:audit:*`,
  });
}

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
  /** Pub/sub: live progress frames of one account's executions. */
  progressChannel(accountId: number): string;
  readonly progressPattern: string;
  /** Pub/sub: an execution reached its final state (message: JSON { executionId, accountId, status }). */
  readonly executionDoneChannel: string;
  /**
   * Pub/sub: a node's ending message (JSON NodeMessage) for an execution a synchronous
   * caller waits for, sent ahead of the durable report that carries it too.
   */
  readonly resultsAheadChannel: string;
  /**
   * List of intake batches (JSON IntakeJob) holding an execution a synchronous caller waits
   * for: the api pushes, one scheduler pops each (scheduler/intake/intake-fast-lane.ts).
   */
  readonly intakeFastLane: string;
  /** Pub/sub: an account was halted or resumed (message: the account id); api processes evict their cached halt. */
  readonly accountHaltChangedChannel: string;
  /** Pub/sub: kill signals for executor nodes (JSON KillSignal). */
  readonly killChannel: string;
  /** Set while an agent is halted (value: reason); nodes check it before running. */
  agentHaltKey(agentId: number): string;
  /** Set while an account is halted (value: reason). */
  accountHaltKey(accountId: number): string;
  /** Rate-limit windows and the per-agent set of running executions. */
  swarmWindowKey(accountId: number, swarm: string): string;
  accountWindowKey(accountId: number): string;
  agentRunningKey(accountId: number, agentId: number): string;
  /** Hash of live executor nodes: node id -> JSON { pools, threads, running, startedAt, lastSeen } (executor-node/node/node-registry.ts). */
  readonly nodesKey: string;
  /** Lease of the one active anchorer. */
  readonly anchorerLease: string;
  /** JSON status of the active anchorer (chain reachability, error counters); expires when none runs. */
  readonly anchorerStatus: string;
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
    progressChannel: (accountId: number) => `${prefix}:chan:progress:${accountId}`,
    progressPattern: `${prefix}:chan:progress:*`,
    executionDoneChannel: `${prefix}:chan:execution-done`,
    resultsAheadChannel: `${prefix}:chan:results-ahead`,
    intakeFastLane: `${prefix}:intake-fast-lane`,
    killChannel: `${prefix}:chan:kill`,
    accountHaltChangedChannel: `${prefix}:chan:account-halt-changed`,
    agentHaltKey: (agentId: number) => `${prefix}:halt:agent:${agentId}`,
    accountHaltKey: (accountId: number) => `${prefix}:halt:account:${accountId}`,
    // Hash tags keep an account's limit keys in one Redis Cluster slot for the atomic script.
    swarmWindowKey: (accountId: number, swarm: string) => `${prefix}:limits:{a${accountId}}:swarm:${swarm}`,
    accountWindowKey: (accountId: number) => `${prefix}:limits:{a${accountId}}:account`,
    agentRunningKey: (accountId: number, agentId: number) => `${prefix}:limits:{a${accountId}}:running:${agentId}`,
    nodesKey: `${prefix}:nodes`,
    anchorerLease: `${prefix}:anchor:lease`,
    anchorerStatus: `${prefix}:anchor:status`,
  });
}

// Every Redis key, channel and queue name, built from the configured prefix.
// Tests pin these strings: renaming one is a deployment-breaking change.

export interface RedisKeys {
  readonly prefix: string;
  /** Pub/sub: a message is the SHA-256 of a revoked key, or "*" to flush every cache. */
  readonly keyRevokedChannel: string;
  /** Pub/sub: a message is an agent id whose cached definition is stale. */
  readonly agentChangedChannel: string;
}

export function redisKeys(prefix: string): RedisKeys {
  return Object.freeze({
    prefix,
    keyRevokedChannel: `${prefix}:chan:key-revoked`,
    agentChangedChannel: `${prefix}:chan:agent-changed`,
  });
}

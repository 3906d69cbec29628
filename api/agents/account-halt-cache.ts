// The account halts an api process checks on every execute call, read from their Redis
// mirror and kept here, so a call does not wait for a Redis round trip before its insert.
// The kill switch publishes every halt and resume on the account-halt-changed channel,
// which evicts the entry on every api process; the TTL bounds staleness should a message
// be lost. A stale "not halted" only lets an execution be queued: the scheduler reads the
// halt from the database before dispatching and ends it `halted` without running it.
import type { Redis } from 'ioredis';
import { ReadThroughCache } from '../../shared/cache/read-through-cache.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';

const MAX_CACHED_ACCOUNTS = 50_000;

export class AccountHaltCache {
  private readonly cache: ReadThroughCache<number, string | null>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    ttlMs: number,
    now: () => number = Date.now,
  ) {
    this.cache = new ReadThroughCache({ ttlMs, maxEntries: MAX_CACHED_ACCOUNTS, now });
  }

  /** The halt reason while the account is halted, null otherwise. */
  async reason(accountId: number): Promise<string | null> {
    return this.cache.get(accountId, () => this.redis.get(this.keys.accountHaltKey(accountId)));
  }

  invalidate(accountId: number): void {
    this.cache.invalidate(accountId);
  }

  flush(): void {
    this.cache.flush();
  }
}

// A lease held in Redis: at most one holder at a time, kept alive by renewal, expiring on
// its own when the holder dies. Used where order or uniqueness needs a single active
// worker (the audit recorder, the anchorer); correctness never rests on it alone.
import type { Redis } from 'ioredis';
import { scripts } from './scripts/index.ts';

export class RedisLease {
  private held = false;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly holder: string,
    readonly ttlMs: number,
  ) {}

  get isHeld(): boolean {
    return this.held;
  }

  /** Takes the lease if it is free; renews it if we hold it. Returns whether we hold it. */
  async acquireOrRenew(): Promise<boolean> {
    if (this.held) {
      this.held = (await scripts(this.redis)('renew-lease-1', [this.key], [this.holder, this.ttlMs])) === 1;
      return this.held;
    }
    this.held = (await this.redis.set(this.key, this.holder, 'PX', this.ttlMs, 'NX')) === 'OK';
    return this.held;
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    await scripts(this.redis)('release-lease-1', [this.key], [this.holder]);
  }
}

// Bearer-key authentication with a bounded in-process cache. Revocation evicts the
// entry on every api process through Redis pub/sub (see key-revocation-listener.ts);
// the TTL bounds staleness if a message were ever missed during a reconnect.
import { errors } from '../../shared/errors.ts';
import { hashApiKey, looksLikeApiKey } from '../../shared/keys/api-key.ts';
import type { ActiveApiKey } from '../../shared/db/stores/api-key-store.ts';

export interface Principal {
  readonly keyId: number;
  readonly accountId: number;
  /** Display prefix: safe to log and to record as the audit actor. */
  readonly keyPrefix: string;
  readonly scopes: readonly string[];
}

export interface ApiKeyLookup {
  findActiveByHash(hash: string): Promise<ActiveApiKey | null>;
}

const MAX_CACHED_KEYS = 10_000;

export class ApiKeyAuthenticator {
  /** Keyed by the presented key itself so a hit costs no hashing; entries keep the hash for eviction. */
  private readonly cache = new Map<string, { principal: Principal; hash: string; expiresAt: number }>();
  /** Bumped on every invalidation so a lookup that raced a revocation is not cached. */
  private generation = 0;

  constructor(
    private readonly lookup: ApiKeyLookup,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) throw errors.unauthenticated('missing Authorization: Bearer tzk_... header');
    const key = match[1]!;
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.principal;
    if (!looksLikeApiKey(key)) throw errors.unauthenticated('malformed API key');
    const hash = hashApiKey(key);
    const generation = this.generation;
    const row = await this.lookup.findActiveByHash(hash);
    // Unknown and revoked keys are not cached: a key created a moment ago must work.
    if (!row) throw errors.unauthenticated('unknown or revoked API key');
    const principal: Principal = { keyId: row.id, accountId: row.accountId, keyPrefix: row.prefix, scopes: row.scopes };
    if (this.ttlMs > 0 && generation === this.generation) {
      if (this.cache.size >= MAX_CACHED_KEYS) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, { principal, hash, expiresAt: this.now() + this.ttlMs });
    }
    return principal;
  }

  invalidate(keyHash: string): void {
    this.generation++;
    for (const [key, entry] of this.cache) if (entry.hash === keyHash) this.cache.delete(key);
  }

  flush(): void {
    this.generation++;
    this.cache.clear();
  }
}

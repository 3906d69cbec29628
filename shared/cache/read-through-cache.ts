// A bounded in-process read-through cache for values that writers invalidate at once
// (locally, and on other processes through Redis pub/sub): a TTL bounds how stale an entry
// can be should an invalidation be lost, and a read that raced an invalidation is answered
// but not kept, so it cannot put back what the invalidation removed.

export interface ReadThroughCacheOptions {
  readonly ttlMs: number;
  /** Past this many entries the oldest is dropped first. */
  readonly maxEntries: number;
  readonly now?: () => number;
}

export class ReadThroughCache<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();
  /** Bumped on every invalidation: a load that started before it is not kept. */
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly options: ReadThroughCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The cached value, or the loaded one; `keep` decides which loaded values are cached. */
  async get(key: K, load: () => Promise<V>, keep: (value: V) => boolean = () => true): Promise<V> {
    const cached = this.entries.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.value;
    const generation = this.generation;
    const value = await load();
    if (this.options.ttlMs > 0 && generation === this.generation && keep(value)) {
      this.entries.delete(key);
      if (this.entries.size >= this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { value, expiresAt: this.now() + this.options.ttlMs });
    }
    return value;
  }

  invalidate(key: K): void {
    this.generation++;
    this.entries.delete(key);
  }

  flush(): void {
    this.generation++;
    this.entries.clear();
  }
}

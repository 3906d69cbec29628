// Read-through cache of agent rows for the hot read paths (GET agent, context routes).
// Every write invalidates locally at once and on other api processes via Redis pub/sub;
// a read that raced an invalidation is served but not cached, and a TTL bounds staleness
// should a pub/sub message ever be lost while the subscription reconnects.
import type { AgentRow } from '../../shared/db/entities/agent.ts';
import { ReadThroughCache } from '../../shared/cache/read-through-cache.ts';

export interface AgentReader {
  get(accountId: number, id: number): Promise<AgentRow | null>;
}

const MAX_CACHED_AGENTS = 50_000;

export class AgentCache implements AgentReader {
  private readonly cache: ReadThroughCache<number, AgentRow | null>;

  constructor(
    private readonly source: AgentReader & { getById(id: number): Promise<AgentRow | null> },
    ttlMs: number,
    now: () => number = Date.now,
  ) {
    this.cache = new ReadThroughCache({ ttlMs, maxEntries: MAX_CACHED_AGENTS, now });
  }

  async get(accountId: number, id: number): Promise<AgentRow | null> {
    // An unknown id is not cached: an agent created a moment ago must be found.
    const row = await this.cache.get(id, () => this.source.getById(id), (found) => found !== null);
    // The tenant check happens after the lookup so a cached row never crosses accounts.
    return row && row.account_id === accountId ? row : null;
  }

  invalidate(id: number): void {
    this.cache.invalidate(id);
  }

  flush(): void {
    this.cache.flush();
  }
}

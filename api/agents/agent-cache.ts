// Read-through cache of agent rows for the hot read paths (GET agent, context routes).
// Every write invalidates locally at once and on other api processes via Redis pub/sub;
// a read that raced an invalidation is served but not cached, and a TTL bounds staleness
// should a pub/sub message ever be lost while the subscription reconnects.
import type { AgentRow } from '../../shared/db/entities/agent.ts';

export interface AgentReader {
  get(accountId: number, id: number): Promise<AgentRow | null>;
}

const MAX_CACHED_AGENTS = 50_000;

export class AgentCache implements AgentReader {
  private readonly entries = new Map<number, { row: AgentRow; expiresAt: number }>();
  private generation = 0;

  constructor(
    private readonly source: AgentReader & { getById(id: number): Promise<AgentRow | null> },
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(accountId: number, id: number): Promise<AgentRow | null> {
    const cached = this.entries.get(id);
    if (cached && cached.expiresAt > this.now()) return cached.row.account_id === accountId ? cached.row : null;
    const generation = this.generation;
    const row = await this.source.getById(id);
    if (row && this.ttlMs > 0 && generation === this.generation) {
      if (this.entries.size >= MAX_CACHED_AGENTS) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(id, { row, expiresAt: this.now() + this.ttlMs });
    }
    // The tenant check happens after the lookup so a cached row never crosses accounts.
    return row && row.account_id === accountId ? row : null;
  }

  invalidate(id: number): void {
    this.generation++;
    this.entries.delete(id);
  }

  flush(): void {
    this.generation++;
    this.entries.clear();
  }
}

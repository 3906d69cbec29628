// What happens after an agent changes: other processes are told (cache invalidation,
// later the audit trail). One interface so routes do not know who listens.
import type { Redis } from 'ioredis';
import type { AgentRow } from '../../shared/db/entities/agent.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import type { Principal } from '../middleware/authenticate.ts';
import type { AgentCache } from './agent-cache.ts';

export type AgentChange = 'created' | 'updated' | 'deleted';

export interface AgentEvents {
  changed(actor: Principal, agent: AgentRow, change: AgentChange): Promise<void>;
}

/** Invalidates this process's cache at once, then tells the other api processes. */
export class RedisAgentEvents implements AgentEvents {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly cache: AgentCache,
  ) {}

  async changed(_actor: Principal, agent: AgentRow, change: AgentChange): Promise<void> {
    this.cache.invalidate(agent.id);
    // Executor nodes read halts from Redis: keep the mirror in step with the row.
    if (change === 'deleted') await this.redis.del(this.keys.agentHaltKey(agent.id));
    else if (agent.status === 'halted') await this.redis.set(this.keys.agentHaltKey(agent.id), agent.halt_reason ?? 'halted');
    else await this.redis.del(this.keys.agentHaltKey(agent.id));
    await this.redis.publish(this.keys.agentChangedChannel, String(agent.id));
  }
}

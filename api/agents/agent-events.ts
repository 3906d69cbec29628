// What happens after an agent changes: other processes are told (cache invalidation,
// later the audit trail). One interface so routes do not know who listens.
import type { Redis } from 'ioredis';
import type { AgentRow } from '../../shared/db/entities/agent.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import type { Principal } from '../middleware/authenticate.ts';

export type AgentChange = 'created' | 'updated' | 'deleted';

export interface AgentEvents {
  changed(actor: Principal, agent: AgentRow, change: AgentChange): Promise<void>;
}

export class RedisAgentEvents implements AgentEvents {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async changed(_actor: Principal, agent: AgentRow): Promise<void> {
    await this.redis.publish(this.keys.agentChangedChannel, String(agent.id));
  }
}

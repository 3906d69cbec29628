// The per-agent key/value context store. Callers check agent ownership first.
import type { DataSource } from 'typeorm';
import { AgentContextEntity, type AgentContextRow } from '../entities/agent-context.ts';

export class AgentContextStore {
  constructor(private readonly db: DataSource) {}

  async put(agentId: number, key: string, value: unknown): Promise<AgentContextRow> {
    const updatedAt = new Date();
    await this.db
      .createQueryBuilder()
      .insert()
      .into(AgentContextEntity)
      // jsonb column: pass the serialised text so a bare string value stays a JSON string.
      .values({ agent_id: agentId, key, value: () => `CAST(:json AS jsonb)`, updated_at: updatedAt })
      .setParameter('json', JSON.stringify(value))
      .orUpdate(['value', 'updated_at'], ['agent_id', 'key'])
      .execute();
    return { agent_id: agentId, key, value, updated_at: updatedAt };
  }

  async get(agentId: number, key: string): Promise<AgentContextRow | null> {
    return this.db.getRepository(AgentContextEntity).findOneBy({ agent_id: agentId, key });
  }

  async delete(agentId: number, key: string): Promise<boolean> {
    const result = await this.db.getRepository(AgentContextEntity).delete({ agent_id: agentId, key });
    return (result.affected ?? 0) > 0;
  }

  async listKeys(agentId: number): Promise<{ key: string; updated_at: Date }[]> {
    return this.db.getRepository(AgentContextEntity).find({
      select: { key: true, updated_at: true },
      where: { agent_id: agentId },
      order: { key: 'ASC' },
    });
  }
}

// The agent's scoped key/value context store, read by the sandbox's read_context().
import { EntitySchema } from 'typeorm';
import { bigintAsNumber } from '../column-transformers.ts';

export interface AgentContextRow {
  agent_id: number;
  key: string;
  value: unknown;
  updated_at: Date;
}

export const AgentContextEntity = new EntitySchema<AgentContextRow>({
  name: 'AgentContext',
  tableName: 'agent_context',
  columns: {
    agent_id: { type: 'bigint', primary: true, transformer: bigintAsNumber },
    key: { type: 'text', primary: true },
    value: { type: 'jsonb' },
    updated_at: { type: 'timestamptz' },
  },
});

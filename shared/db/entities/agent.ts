// A registered agent: its code, resolved sandbox config and permission scopes.
import { EntitySchema } from 'typeorm';
import { bigintAsNumber } from '../column-transformers.ts';
import type { AgentConfig } from '../../sandbox-templates.ts';

export const AGENT_STATUSES = ['draft', 'ready', 'disabled', 'halted'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

export interface AgentRow {
  id: number;
  account_id: number;
  name: string;
  version: string;
  description: string;
  entry_code: string;
  config: AgentConfig;
  permissions: string[];
  permissions_preset: string | null;
  swarm: string | null;
  status: AgentStatus;
  halt_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export const AgentEntity = new EntitySchema<AgentRow>({
  name: 'Agent',
  tableName: 'agents',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment', transformer: bigintAsNumber },
    account_id: { type: 'bigint', transformer: bigintAsNumber },
    name: { type: 'text' },
    version: { type: 'text' },
    description: { type: 'text', default: '' },
    entry_code: { type: 'text', default: '' },
    config: { type: 'jsonb' },
    permissions: { type: 'text', array: true },
    permissions_preset: { type: 'text', nullable: true },
    swarm: { type: 'text', nullable: true },
    status: { type: 'text' },
    halt_reason: { type: 'text', nullable: true },
    created_at: { type: 'timestamptz', createDate: true },
    updated_at: { type: 'timestamptz', updateDate: true },
  },
});

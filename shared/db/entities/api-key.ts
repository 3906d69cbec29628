// API keys are stored as a SHA-256 hash plus a short display prefix; the key itself
// exists only in the response that created it.
import { EntitySchema } from 'typeorm';
import { bigintAsNumber } from '../column-transformers.ts';

export interface ApiKeyRow {
  id: number;
  account_id: number;
  prefix: string;
  key_hash: string;
  scopes: string[];
  label: string | null;
  created_at: Date;
  revoked_at: Date | null;
}

export const ApiKeyEntity = new EntitySchema<ApiKeyRow>({
  name: 'ApiKey',
  tableName: 'api_keys',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment', transformer: bigintAsNumber },
    account_id: { type: 'bigint', transformer: bigintAsNumber },
    prefix: { type: 'text', unique: true },
    key_hash: { type: 'text', unique: true },
    scopes: { type: 'text', array: true },
    label: { type: 'text', nullable: true },
    created_at: { type: 'timestamptz', createDate: true },
    revoked_at: { type: 'timestamptz', nullable: true },
  },
});

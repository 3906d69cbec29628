// An account is the tenant boundary: every row below belongs to exactly one.
import { EntitySchema } from 'typeorm';
import { bigintAsNumber } from '../column-transformers.ts';

export interface AccountRow {
  id: number;
  name: string;
  halted: boolean;
  halt_reason: string | null;
  created_at: Date;
}

export const AccountEntity = new EntitySchema<AccountRow>({
  name: 'Account',
  tableName: 'accounts',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment', transformer: bigintAsNumber },
    name: { type: 'text', unique: true },
    halted: { type: 'boolean', default: false },
    halt_reason: { type: 'text', nullable: true },
    created_at: { type: 'timestamptz', createDate: true },
  },
});

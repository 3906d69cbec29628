// Accounts: created by operators through `tz accounts create` (or the first start).
import type { DataSource } from 'typeorm';
import { AppError, errors } from '../../errors.ts';
import { AccountEntity, type AccountRow } from '../entities/account.ts';
import { auditEvent } from '../../audit/audit-event.ts';
import { writeAuditOutbox } from '../../audit/audit-sink.ts';

export const ACCOUNT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export class AccountStore {
  constructor(private readonly db: DataSource) {}

  async create(name: string, actor: string): Promise<AccountRow> {
    if (!ACCOUNT_NAME_PATTERN.test(name)) {
      throw errors.validation('name', 'account names are 1-63 lowercase letters, digits, _ or -, starting with a letter or digit');
    }
    return this.db.transaction(async (tx) => {
      const inserted = await tx.createQueryBuilder().insert().into(AccountEntity).values({ name }).orIgnore().returning('*').execute();
      const raw = inserted.raw[0] as (AccountRow & { id: string }) | undefined;
      if (!raw) throw new AppError(409, 'account_exists', `account ${name} already exists`);
      const row = { ...raw, id: Number(raw.id) };
      await writeAuditOutbox(tx, [
        auditEvent({ accountId: row.id, actor, actionType: 'account_created', description: `account ${name} created` }),
      ]);
      return row;
    });
  }

  async findByName(name: string): Promise<AccountRow | null> {
    return this.db.getRepository(AccountEntity).findOneBy({ name });
  }

  async requireByName(name: string): Promise<AccountRow> {
    const row = await this.findByName(name);
    if (!row) throw errors.notFound(`account ${name}`);
    return row;
  }

  async count(): Promise<number> {
    return this.db.getRepository(AccountEntity).count();
  }
}

// Agent rows, always addressed through the owning account: a row of another account
// is indistinguishable from a missing one.
import type { DataSource, EntityManager } from 'typeorm';
import { errors } from '../../errors.ts';
import { AgentEntity, type AgentRow } from '../entities/agent.ts';

const UNIQUE_VIOLATION = '23505';

export type AgentValues = Omit<AgentRow, 'id' | 'account_id' | 'created_at' | 'updated_at'>;

/** Runs inside the write's transaction: what it writes commits or rolls back with it. */
export type AgentWriteHook = (tx: EntityManager, row: AgentRow, change: 'created' | 'updated' | 'deleted', before: AgentRow | null) => Promise<void>;

export interface Page<T> {
  readonly rows: T[];
  readonly total: number;
}

export class AgentStore {
  constructor(private readonly db: DataSource) {}

  async list(accountId: number, page: number, limit: number): Promise<Page<AgentRow>> {
    const [rows, total] = await this.db.getRepository(AgentEntity).findAndCount({
      where: { account_id: accountId },
      order: { id: 'DESC' },
      skip: (page - 1) * limit,
      take: limit,
    });
    return { rows, total };
  }

  async get(accountId: number, id: number): Promise<AgentRow | null> {
    return this.db.getRepository(AgentEntity).findOneBy({ account_id: accountId, id });
  }

  /** Unscoped by account: only for caches that apply the tenant check themselves. */
  async getById(id: number): Promise<AgentRow | null> {
    return this.db.getRepository(AgentEntity).findOneBy({ id });
  }

  /**
   * Registers or updates the agent named `name`. `build` sees the current row (locked)
   * or null and returns the full values to store; it may throw to refuse. Concurrent
   * upserts of one name serialise on the row lock or on the unique constraint.
   */
  async upsertByName(
    accountId: number,
    name: string,
    build: (existing: AgentRow | null) => AgentValues,
    onWrite?: AgentWriteHook,
  ): Promise<{ row: AgentRow; created: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const result = await this.db.transaction(async (tx) => {
        const existing = await this.lockByName(tx, accountId, name);
        if (existing) {
          const row = await this.write(tx, existing, build(existing));
          await onWrite?.(tx, row, 'updated', existing);
          return { row, created: false };
        }
        const inserted = await tx
          .createQueryBuilder()
          .insert()
          .into(AgentEntity)
          .values({ ...build(null), account_id: accountId })
          .orIgnore()
          .returning('id')
          .execute();
        const id = (inserted.raw[0] as { id: string } | undefined)?.id;
        if (id === undefined) return null; // lost the race to a concurrent insert; retry as an update
        const row = await tx.getRepository(AgentEntity).findOneByOrFail({ id: Number(id) });
        await onWrite?.(tx, row, 'created', null);
        return { row, created: true };
      });
      if (result) return result;
      if (attempt >= 2) throw new Error('agent upsert did not converge');
    }
  }

  /** Applies `build` to the locked row; null when the agent is not the account's. */
  async update(
    accountId: number,
    id: number,
    build: (existing: AgentRow) => AgentValues,
    onWrite?: AgentWriteHook,
  ): Promise<AgentRow | null> {
    return this.db.transaction(async (tx) => {
      const existing = await this.lockById(tx, accountId, id);
      if (!existing) return null;
      const row = await this.write(tx, existing, build(existing));
      await onWrite?.(tx, row, 'updated', existing);
      return row;
    });
  }

  /** Deletes the agent (its context and executions cascade); null when not the account's. */
  async delete(accountId: number, id: number, onWrite?: AgentWriteHook): Promise<AgentRow | null> {
    return this.db.transaction(async (tx) => {
      const existing = await this.lockById(tx, accountId, id);
      if (!existing) return null;
      await tx.getRepository(AgentEntity).delete({ id });
      await onWrite?.(tx, existing, 'deleted', existing);
      return existing;
    });
  }

  private async lockById(tx: EntityManager, accountId: number, id: number): Promise<AgentRow | null> {
    return tx
      .getRepository(AgentEntity)
      .createQueryBuilder('a')
      .setLock('pessimistic_write')
      .where('a.id = :id AND a.account_id = :accountId', { id, accountId })
      .getOne();
  }

  private async lockByName(tx: EntityManager, accountId: number, name: string): Promise<AgentRow | null> {
    return tx
      .getRepository(AgentEntity)
      .createQueryBuilder('a')
      .setLock('pessimistic_write')
      .where('a.account_id = :accountId AND a.name = :name', { accountId, name })
      .getOne();
  }

  private async write(tx: EntityManager, existing: AgentRow, values: AgentValues): Promise<AgentRow> {
    const repo = tx.getRepository(AgentEntity);
    try {
      await repo.update({ id: existing.id }, { ...values, updated_at: new Date() });
    } catch (err) {
      if ((err as { driverError?: { code?: string } }).driverError?.code === UNIQUE_VIOLATION) {
        throw errors.conflict('agent_name_taken', `another agent of this account is named ${values.name}`);
      }
      throw err;
    }
    return repo.findOneByOrFail({ id: existing.id });
  }
}

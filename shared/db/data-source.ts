// Opens the TypeORM DataSource. Entities use EntitySchema (no decorators), so the
// code runs unchanged under tsx/esbuild, which does not emit decorator metadata.
import { DataSource } from 'typeorm';
import { AccountEntity } from './entities/account.ts';
import { AgentContextEntity } from './entities/agent-context.ts';
import { AgentEntity } from './entities/agent.ts';
import { ApiKeyEntity } from './entities/api-key.ts';
import { migrations } from './migrations/index.ts';

export const entities = [AccountEntity, ApiKeyEntity, AgentEntity, AgentContextEntity];

export interface DatabaseOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly applicationName: string;
}

export function createDataSource(options: DatabaseOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    entities,
    migrations,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    poolSize: options.poolSize,
    applicationName: options.applicationName,
  });
}

export async function openDatabase(options: DatabaseOptions): Promise<DataSource> {
  return createDataSource(options).initialize();
}

/** Applies pending migrations in one transaction; returns the names applied. */
export async function runMigrations(db: DataSource): Promise<string[]> {
  const applied = await db.runMigrations({ transaction: 'all' });
  return applied.map((m) => m.name);
}

// Opens the TypeORM DataSource. Entities use EntitySchema (no decorators), so the
// code runs unchanged under tsx/esbuild, which does not emit decorator metadata.
import { DataSource } from 'typeorm';
import { AccountEntity } from './entities/account.ts';
import { AgentContextEntity } from './entities/agent-context.ts';
import { AgentEntity } from './entities/agent.ts';
import { ApiKeyEntity } from './entities/api-key.ts';
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { migrations } from './migrations/index.ts';
import { sendStatementsUnnamed } from './prepared-statement.ts';

export const entities = [AccountEntity, ApiKeyEntity, AgentEntity, AgentContextEntity];

export interface DatabaseOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly applicationName: string;
  /**
   * Sessions that only look rows up by key (the scheduler's): sequential scans are priced
   * out (enable_seqscan off), so no statement of theirs scans a table while an index
   * could answer. Their statements are prepared, and a prepared statement keeps the
   * generic plan it was first given: planned against a young table (a few pages, or
   * statistics that autovacuum has not refreshed, or never will where it is off), the
   * final write hash-joined a scan of every execution, and kept doing so as the table
   * grew. A statement with no usable index still runs; it is only planned last.
   */
  readonly keyedLookupsOnly?: boolean;
  /**
   * Whether the hot statements are prepared by name, once per connection (the default;
   * shared/db/prepared-statement.ts). Off, they go unnamed, parsed and planned on every
   * call, for a pooler that may run a client's next transaction on another server session,
   * where a name prepared on the first does not exist.
   */
  readonly namedStatements?: boolean;
}

/** The session setting behind DatabaseOptions.keyedLookupsOnly, sent at connection start. */
const KEYED_LOOKUPS_ONLY_OPTIONS = '-c enable_seqscan=off';

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
    ...(options.keyedLookupsOnly ? { extra: { options: KEYED_LOOKUPS_ONLY_OPTIONS } } : {}),
  });
}

export async function openDatabase(options: DatabaseOptions): Promise<DataSource> {
  let db: DataSource;
  try {
    db = await createDataSource(options).initialize();
  } catch (err) {
    // PgBouncer (and other poolers) refuse the `options` startup parameter outright.
    if (options.keyedLookupsOnly && /unsupported startup parameter/i.test((err as Error).message)) {
      throw new ConfigError(
        `configuration error: SCHEDULER_DB_SEQSCAN=off sends enable_seqscan=off as a startup parameter, and the server at the database URL refused it ` +
          `(${(err as Error).message}); behind such a pooler set SCHEDULER_DB_SEQSCAN=default and give the scheduler's role the setting (docs/operations.md)`,
      );
    }
    throw err;
  }
  if (options.namedStatements === false) sendStatementsUnnamed(db);
  return db;
}

/**
 * Opens the database of a product process: what every process takes from the
 * configuration (DB_NAMED_STATEMENTS) is set here, so no process can leave it out.
 */
export function openConfiguredDatabase(config: Pick<Config, 'dbNamedStatements'>, options: Omit<DatabaseOptions, 'namedStatements'>): Promise<DataSource> {
  return openDatabase({ ...options, namedStatements: config.dbNamedStatements });
}

/** Applies pending migrations in one transaction; returns the names applied. */
export async function runMigrations(db: DataSource): Promise<string[]> {
  const applied = await db.runMigrations({ transaction: 'all' });
  return applied.map((m) => m.name);
}

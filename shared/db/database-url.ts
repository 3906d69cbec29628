// Where PostgreSQL is: DATABASE_URL, or else the embedded server that `npm start`
// runs on LOCAL_POSTGRES_PORT, so `tz` works against a laptop install unchanged.
import type { Config } from '../config.ts';

export function embeddedDatabaseUrl(config: Pick<Config, 'localPostgresPort'>): string {
  return `postgres://postgres@127.0.0.1:${config.localPostgresPort}/postgres`;
}

export function effectiveDatabaseUrl(config: Config): string {
  return config.databaseUrl ?? embeddedDatabaseUrl(config);
}

// Processes other than `tz migrate` and `npm start` never migrate; they refuse to run
// against a schema that is behind, rather than fail later on a missing column.
import type { DataSource } from 'typeorm';
import { ConfigError } from '../errors.ts';

export async function assertSchemaCurrent(db: DataSource): Promise<void> {
  if (await db.showMigrations()) {
    throw new ConfigError('database schema is not up to date: run `tz migrate` first');
  }
}

// `tz migrate`: applies pending database migrations.
import { runMigrations } from '../../shared/db/data-source.ts';
import { withDatabase } from '../cli-resources.ts';
import { UsageError, type CliCommand } from '../command.ts';

export const migrateCommand: CliCommand = {
  words: ['migrate'],
  usage: 'migrate',
  summary: 'Apply pending database migrations',
  async run(args, io) {
    if (args.length > 0) throw new UsageError(`unexpected argument ${args[0]}`);
    const applied = await withDatabase(io.config(), runMigrations);
    io.out(applied.length === 0 ? 'schema is up to date' : `applied ${applied.length} migration(s): ${applied.join(', ')}`);
    return 0;
  },
};

// `tz accounts create NAME`
import { AccountStore } from '../../shared/db/stores/account-store.ts';
import { withDatabase } from '../cli-resources.ts';
import { cliActor, UsageError, type CliCommand } from '../command.ts';

export const accountsCreateCommand: CliCommand = {
  words: ['accounts', 'create'],
  usage: 'accounts create NAME',
  summary: 'Create an account (tenant)',
  async run(args, io) {
    if (args.length !== 1) throw new UsageError('expected exactly one account name');
    const account = await withDatabase(io.config(), (db) => new AccountStore(db).create(args[0]!, cliActor()));
    io.out(`created account ${account.name} (id ${account.id})`);
    return 0;
  },
};

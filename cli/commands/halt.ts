// `tz halt` / `tz resume`: the operator's kill switch across accounts.
import type { DataSource } from 'typeorm';
import { AccountStore } from '../../shared/db/stores/account-store.ts';
import { KillSwitch } from '../../shared/execution/kill-switch.ts';
import { redisKeys } from '../../shared/redis/keys.ts';
import { withDatabase, withRedis } from '../cli-resources.ts';
import { cliActor, parseOptions, UsageError, type CliCommand } from '../command.ts';

async function targets(db: DataSource, all: boolean, account: string | undefined): Promise<{ id: number; name: string }[]> {
  if (all) return (await db.query(`SELECT id::float8 AS id, name FROM accounts ORDER BY id`)) as { id: number; name: string }[];
  const row = await new AccountStore(db).requireByName(account!);
  return [{ id: row.id, name: row.name }];
}

function command(halted: boolean): CliCommand {
  const word = halted ? 'halt' : 'resume';
  return {
    words: [word],
    usage: `${word} (--all | --account NAME) ${halted ? '--reason TEXT' : '[--reason TEXT]'}`,
    summary: halted ? 'Halt every agent of one or all accounts at once, terminating running executions' : 'Lift an account-wide halt',
    async run(args, io) {
      const { values, positionals } = parseOptions(args, { all: { type: 'boolean' }, account: { type: 'string' }, reason: { type: 'string' } });
      if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
      if (Boolean(values.all) === (typeof values.account === 'string')) throw new UsageError('give exactly one of --all and --account NAME');
      const reason = typeof values.reason === 'string' ? values.reason.slice(0, 1000) : undefined;
      if (halted && !reason) throw new UsageError('--reason is required: it goes to the audit trail');
      const config = io.config();
      const names = await withDatabase(config, (db) =>
        withRedis(config, async (redis) => {
          const accounts = await targets(db, Boolean(values.all), values.account as string | undefined);
          const killSwitch = new KillSwitch(db, redis, redisKeys(config.redis.prefix));
          for (const account of accounts) await killSwitch.setAccountHalted(account.id, halted, reason ?? 'resumed by operator', cliActor());
          return accounts.map((a) => a.name);
        }),
      );
      io.out(`${halted ? 'halted' : 'resumed'} ${names.length} account(s): ${names.join(', ')}`);
      return 0;
    },
  };
}

export const haltCommand = command(true);
export const resumeCommand = command(false);

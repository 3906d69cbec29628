// `tz limits set|show`: the execution rate limits of an account and its swarms.
import { AccountStore } from '../../shared/db/stores/account-store.ts';
import { RateLimitStore } from '../../shared/db/stores/rate-limit-store.ts';
import { DEFAULT_LIMITS } from '../../shared/execution/rate-limits.ts';
import { withDatabase } from '../cli-resources.ts';
import { parseOptions, UsageError, type CliCommand } from '../command.ts';

const SWARM_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function positive(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^[0-9]{1,9}$/.test(value) || n < 1) throw new UsageError(`--${name} must be a whole number of at least 1`);
  return n;
}

export const limitsSetCommand: CliCommand = {
  words: ['limits', 'set'],
  usage: 'limits set --account NAME [--swarm NAME] [--executions-per-hour N] [--executions-per-minute N] [--concurrency N]',
  summary: 'Set execution limits: per swarm per hour, per account per minute, per agent concurrency',
  async run(args, io) {
    const { values, positionals } = parseOptions(args, {
      account: { type: 'string' },
      swarm: { type: 'string' },
      'executions-per-hour': { type: 'string' },
      'executions-per-minute': { type: 'string' },
      concurrency: { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (typeof values.account !== 'string') throw new UsageError('--account is required');
    const swarm = typeof values.swarm === 'string' ? values.swarm : null;
    if (swarm !== null && !SWARM_PATTERN.test(swarm)) throw new UsageError('--swarm must be 1-64 letters, digits, ., _ or -');
    const perHour = positive('executions-per-hour', values['executions-per-hour']);
    const perMinute = positive('executions-per-minute', values['executions-per-minute']);
    const concurrency = positive('concurrency', values.concurrency);
    if (swarm !== null && (perMinute !== undefined || concurrency !== undefined)) {
      throw new UsageError('a swarm has only --executions-per-hour; per-minute and concurrency limits are set on the account');
    }
    if (perHour === undefined && perMinute === undefined && concurrency === undefined) throw new UsageError('give at least one limit to set');
    await withDatabase(io.config(), async (db) => {
      const account = await new AccountStore(db).requireByName(values.account as string);
      await new RateLimitStore(db).set(account.id, swarm, { executions_per_hour: perHour, executions_per_minute: perMinute, concurrency });
    });
    io.out(`limits updated for account ${values.account}${swarm ? ` swarm ${swarm}` : ''}`);
    return 0;
  },
};

export const limitsShowCommand: CliCommand = {
  words: ['limits', 'show'],
  usage: 'limits show --account NAME',
  summary: 'Show an account\'s execution limits and their defaults',
  async run(args, io) {
    const { values } = parseOptions(args, { account: { type: 'string' } });
    if (typeof values.account !== 'string') throw new UsageError('--account is required');
    const rows = await withDatabase(io.config(), async (db) => {
      const account = await new AccountStore(db).requireByName(values.account as string);
      return new RateLimitStore(db).list(account.id);
    });
    const accountRow = rows.find((r) => r.swarm === '');
    io.out(`account ${values.account}`);
    io.out(`  executions per minute (account):       ${accountRow?.executions_per_minute ?? `${DEFAULT_LIMITS.accountExecutionsPerMinute} (default)`}`);
    io.out(`  concurrency (per agent):               ${accountRow?.concurrency ?? `${DEFAULT_LIMITS.agentConcurrency} (default)`}`);
    io.out(`  executions per hour (per swarm):       ${accountRow?.executions_per_hour ?? `${DEFAULT_LIMITS.swarmExecutionsPerHour} (default)`}`);
    for (const row of rows.filter((r) => r.swarm !== '')) io.out(`  swarm ${row.swarm}: executions per hour ${row.executions_per_hour ?? 'account default'}`);
    return 0;
  },
};

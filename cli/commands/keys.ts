// `tz keys create|list|revoke`: API key management for operators.
import { AccountStore } from '../../shared/db/stores/account-store.ts';
import { ApiKeyStore } from '../../shared/db/stores/api-key-store.ts';
import { publishKeyRevoked } from '../../shared/keys/key-revocation.ts';
import { redisKeys } from '../../shared/redis/keys.ts';
import { withDatabase, withRedis } from '../cli-resources.ts';
import { cliActor, parseOptions as parse, UsageError, type CliCommand } from '../command.ts';

export const keysCreateCommand: CliCommand = {
  words: ['keys', 'create'],
  usage: 'keys create --account NAME [--scopes a,b] [--label TEXT]',
  summary: 'Create an API key (every scope when --scopes is absent); prints the key last',
  async run(args, io) {
    const { values, positionals } = parse(args, {
      account: { type: 'string' },
      scopes: { type: 'string' },
      label: { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (typeof values.account !== 'string') throw new UsageError('--account is required');
    const scopes = typeof values.scopes === 'string' ? values.scopes.split(',').map((s: string) => s.trim()).filter(Boolean) : undefined;
    const created = await withDatabase(io.config(), async (db) => {
      const account = await new AccountStore(db).requireByName(values.account as string);
      return new ApiKeyStore(db).create(account.id, scopes, typeof values.label === 'string' ? values.label : undefined, cliActor());
    });
    io.out(`created key ${created.row.prefix} for account ${values.account} with scopes ${created.row.scopes.join(',')}`);
    io.out('store it now: it will not be shown again');
    io.out(created.key);
    return 0;
  },
};

export const keysListCommand: CliCommand = {
  words: ['keys', 'list'],
  usage: 'keys list --account NAME',
  summary: 'List an account\'s keys (display prefixes only)',
  async run(args, io) {
    const { values } = parse(args, { account: { type: 'string' } });
    if (typeof values.account !== 'string') throw new UsageError('--account is required');
    const rows = await withDatabase(io.config(), async (db) => {
      const account = await new AccountStore(db).requireByName(values.account as string);
      return new ApiKeyStore(db).list(account.id);
    });
    io.out(['prefix', 'status', 'created_at', 'scopes', 'label'].join('\t'));
    for (const r of rows) {
      io.out([r.prefix, r.revoked_at ? `revoked ${r.revoked_at.toISOString()}` : 'active', r.created_at.toISOString(), r.scopes.join(','), r.label ?? ''].join('\t'));
    }
    return 0;
  },
};

export const keysRevokeCommand: CliCommand = {
  words: ['keys', 'revoke'],
  usage: 'keys revoke KEY_OR_PREFIX',
  summary: 'Revoke a key, given whole or by its display prefix; effective at once everywhere',
  async run(args, io) {
    if (args.length !== 1) throw new UsageError('expected the key or its display prefix');
    const config = io.config();
    const row = await withDatabase(config, (db) => new ApiKeyStore(db).revoke(args[0]!, cliActor()));
    await withRedis(config, (redis) => publishKeyRevoked(redis, redisKeys(config.redis.prefix), row.key_hash));
    io.out(`revoked key ${row.prefix}`);
    return 0;
  },
};

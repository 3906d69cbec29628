// First start: create the `default` account and its admin key, and hand the key to the
// caller to print once. Later starts find an account and do nothing.
import type { DataSource } from 'typeorm';
import { AccountStore } from './stores/account-store.ts';
import { ApiKeyStore } from './stores/api-key-store.ts';

export const DEFAULT_ACCOUNT = 'default';

export async function bootstrapFirstAccount(db: DataSource): Promise<{ account: string; key: string } | null> {
  const accounts = new AccountStore(db);
  if ((await accounts.count()) > 0) return null;
  const account = await accounts.create(DEFAULT_ACCOUNT, 'system');
  const created = await new ApiKeyStore(db).create(account.id, ['admin'], 'bootstrap admin key', 'system');
  return { account: account.name, key: created.key };
}

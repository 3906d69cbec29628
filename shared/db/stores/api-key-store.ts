// API key rows: create (returns the plaintext once), list, revoke, look up by hash.
import type { DataSource } from 'typeorm';
import { errors } from '../../errors.ts';
import { DISPLAY_PREFIX_PATTERN, generateApiKey, hashApiKey, looksLikeApiKey } from '../../keys/api-key.ts';
import { isKeyScope, KEY_SCOPES, type KeyScope } from '../../permissions/key-scopes.ts';
import { ApiKeyEntity, type ApiKeyRow } from '../entities/api-key.ts';

export interface ActiveApiKey {
  readonly id: number;
  readonly accountId: number;
  readonly prefix: string;
  readonly scopes: readonly string[];
}

export interface CreatedApiKey {
  readonly key: string;
  readonly row: ApiKeyRow;
}

export class ApiKeyStore {
  constructor(private readonly db: DataSource) {}

  /** Every scope when `scopes` is omitted. Unknown scopes are refused, not dropped. */
  async create(accountId: number, scopes?: readonly string[], label?: string): Promise<CreatedApiKey> {
    const wanted = scopes ?? KEY_SCOPES;
    const unknown = wanted.filter((s) => !isKeyScope(s));
    if (unknown.length > 0) {
      throw errors.validation('scopes', `unknown key scope ${unknown.join(', ')}; known: ${KEY_SCOPES.join(', ')}`);
    }
    if (wanted.length === 0) throw errors.validation('scopes', 'a key needs at least one scope');
    const repo = this.db.getRepository(ApiKeyEntity);
    // A display-prefix collision (47 bits) is astronomically rare; retry rather than fail.
    for (let attempt = 0; attempt < 3; attempt++) {
      const generated = generateApiKey();
      const exists = await repo.existsBy({ prefix: generated.prefix });
      if (exists) continue;
      const row = await repo.save({
        account_id: accountId,
        prefix: generated.prefix,
        key_hash: generated.hash,
        scopes: [...new Set(wanted as readonly KeyScope[])],
        label: label ?? null,
        revoked_at: null,
      });
      return { key: generated.key, row: row as ApiKeyRow };
    }
    throw new Error('could not allocate a unique key prefix');
  }

  async list(accountId: number): Promise<ApiKeyRow[]> {
    return this.db.getRepository(ApiKeyEntity).find({ where: { account_id: accountId }, order: { id: 'ASC' } });
  }

  async findActiveByHash(hash: string): Promise<ActiveApiKey | null> {
    const row = await this.db.getRepository(ApiKeyEntity).findOneBy({ key_hash: hash });
    if (!row || row.revoked_at) return null;
    return { id: row.id, accountId: row.account_id, prefix: row.prefix, scopes: row.scopes };
  }

  /** Accepts the whole key or its display prefix. Revoking twice is not an error. */
  async revoke(keyOrPrefix: string): Promise<ApiKeyRow> {
    const repo = this.db.getRepository(ApiKeyEntity);
    let row: ApiKeyRow | null;
    if (looksLikeApiKey(keyOrPrefix)) row = await repo.findOneBy({ key_hash: hashApiKey(keyOrPrefix) });
    else if (DISPLAY_PREFIX_PATTERN.test(keyOrPrefix)) row = await repo.findOneBy({ prefix: keyOrPrefix });
    else throw errors.validation('key', 'expected a whole tzk_ key or its 12-character display prefix');
    if (!row) throw errors.notFound('API key');
    if (!row.revoked_at) {
      await repo.update({ id: row.id }, { revoked_at: new Date() });
      row = (await repo.findOneBy({ id: row.id }))!;
    }
    return row;
  }
}

// API key rows: create (returns the plaintext once), list, revoke, look up by hash.
import type { DataSource } from 'typeorm';
import { errors } from '../../errors.ts';
import { DISPLAY_PREFIX_PATTERN, generateApiKey, hashApiKey, looksLikeApiKey } from '../../keys/api-key.ts';
import { isKeyScope, KEY_SCOPES, type KeyScope } from '../../permissions/key-scopes.ts';
import { ApiKeyEntity, type ApiKeyRow } from '../entities/api-key.ts';
import { auditEvent } from '../../audit/audit-event.ts';
import { writeAuditOutbox } from '../../audit/audit-sink.ts';
import { summarize } from '../../audit/summarize.ts';

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
  async create(accountId: number, scopes: readonly string[] | undefined, label: string | undefined, actor: string): Promise<CreatedApiKey> {
    const wanted = scopes ?? KEY_SCOPES;
    const unknown = wanted.filter((s) => !isKeyScope(s));
    if (unknown.length > 0) {
      throw errors.validation('scopes', `unknown key scope ${unknown.join(', ')}; known: ${KEY_SCOPES.join(', ')}`);
    }
    if (wanted.length === 0) throw errors.validation('scopes', 'a key needs at least one scope');
    // A display-prefix collision (47 bits) is astronomically rare; retry rather than fail.
    for (let attempt = 0; attempt < 3; attempt++) {
      const generated = generateApiKey();
      const created = await this.db.transaction(async (tx) => {
        const repo = tx.getRepository(ApiKeyEntity);
        if (await repo.existsBy({ prefix: generated.prefix })) return null;
        const row = (await repo.save({
          account_id: accountId,
          prefix: generated.prefix,
          key_hash: generated.hash,
          scopes: [...new Set(wanted as readonly KeyScope[])],
          label: label ?? null,
          revoked_at: null,
        })) as ApiKeyRow;
        await writeAuditOutbox(tx, [
          auditEvent({
            accountId,
            actor,
            actionType: 'key_created',
            description: `API key ${row.prefix} created`,
            inputSummary: summarize({ label: row.label }),
            permissionState: { key_scopes: row.scopes },
          }),
        ]);
        return row;
      });
      if (created) return { key: generated.key, row: created };
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
  async revoke(keyOrPrefix: string, actor: string): Promise<ApiKeyRow> {
    let where: { key_hash: string } | { prefix: string };
    if (looksLikeApiKey(keyOrPrefix)) where = { key_hash: hashApiKey(keyOrPrefix) };
    else if (DISPLAY_PREFIX_PATTERN.test(keyOrPrefix)) where = { prefix: keyOrPrefix };
    else throw errors.validation('key', 'expected a whole tzk_ key or its 12-character display prefix');
    return this.db.transaction(async (tx) => {
      const repo = tx.getRepository(ApiKeyEntity);
      const row = await repo.createQueryBuilder('k').setLock('pessimistic_write').where(where).getOne();
      if (!row) throw errors.notFound('API key');
      if (row.revoked_at) return row;
      row.revoked_at = new Date();
      await repo.update({ id: row.id }, { revoked_at: row.revoked_at });
      await writeAuditOutbox(tx, [
        auditEvent({
          accountId: row.account_id,
          actor,
          actionType: 'key_revoked',
          description: `API key ${row.prefix} revoked`,
          permissionState: { key_scopes: row.scopes },
        }),
      ]);
      return row;
    });
  }
}

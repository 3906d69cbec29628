import assert from 'node:assert/strict';
import { ApiKeyAuthenticator } from '../../../api/middleware/authenticate.ts';
import { AgentCache } from '../../../api/agents/agent-cache.ts';
import { generateApiKey } from '../../../shared/keys/api-key.ts';
import type { AgentRow } from '../../../shared/db/entities/agent.ts';

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('ApiKeyAuthenticator', () => {
  const key = generateApiKey();
  const row = { id: 1, accountId: 7, prefix: key.prefix, scopes: ['admin'] };

  it('caches a valid key and evicts it by hash on revocation', async () => {
    let lookups = 0;
    const auth = new ApiKeyAuthenticator({ findActiveByHash: async () => (lookups++, row) }, 60_000);
    await auth.authenticate(`Bearer ${key.key}`);
    await auth.authenticate(`Bearer ${key.key}`);
    assert.equal(lookups, 1);
    auth.invalidate(key.hash);
    await auth.authenticate(`Bearer ${key.key}`);
    assert.equal(lookups, 2);
  });

  it('does not cache a lookup that raced a revocation', async () => {
    const gate = deferred<typeof row>();
    let lookups = 0;
    const auth = new ApiKeyAuthenticator({ findActiveByHash: () => (lookups++, gate.promise) }, 60_000);
    const pending = auth.authenticate(`Bearer ${key.key}`);
    auth.invalidate(key.hash);
    gate.resolve(row);
    await pending;
    const again = auth.authenticate(`Bearer ${key.key}`);
    assert.equal(lookups, 2);
    await again;
  });

  it('expires entries after the TTL and never caches unknown keys', async () => {
    let now = 0;
    let lookups = 0;
    let known = false;
    const auth = new ApiKeyAuthenticator({ findActiveByHash: async () => (lookups++, known ? row : null) }, 1000, () => now);
    await assert.rejects(auth.authenticate(`Bearer ${key.key}`), /unknown or revoked/);
    known = true;
    await auth.authenticate(`Bearer ${key.key}`);
    now = 2000;
    await auth.authenticate(`Bearer ${key.key}`);
    assert.equal(lookups, 3);
  });
});

describe('AgentCache', () => {
  const row = { id: 5, account_id: 1, name: 'a' } as AgentRow;

  it('applies the tenant check on cached rows', async () => {
    const cache = new AgentCache({ get: async () => row, getById: async () => row }, 60_000);
    assert.equal(await cache.get(1, 5), row);
    assert.equal(await cache.get(2, 5), null);
  });

  it('does not cache a read that raced an invalidation', async () => {
    const gate = deferred<AgentRow>();
    let reads = 0;
    const cache = new AgentCache({ get: async () => row, getById: () => (reads++, gate.promise) }, 60_000);
    const pending = cache.get(1, 5);
    cache.invalidate(5);
    gate.resolve(row);
    await pending;
    void cache.get(1, 5);
    assert.equal(reads, 2);
  });
});

// The `tz` CLI against a real database, and key revocation seen by every api process.
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import { runTz, startProcess } from '../helpers/processes.ts';
import { TestSystem } from '../helpers/test-system.ts';
import { HttpClient } from '../helpers/http-client.ts';

describe('tz CLI (e2e)', function () {
  this.timeout(90_000);

  describe('migrate from an empty database', () => {
    let empty: TestDatabase;
    before(async () => {
      empty = await createTestDatabase('migrate');
    });
    after(async () => empty?.drop());

    it('applies every migration once, then reports the schema up to date', async () => {
      const env = { DATABASE_URL: empty.url };
      const first = await runTz(['migrate'], env);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /applied \d+ migration\(s\): InitialSchema/);
      const second = await runTz(['migrate'], env);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /schema is up to date/);
    });
  });

  describe('accounts and keys', () => {
    let system: TestSystem;
    let env: Record<string, string>;
    before(async () => {
      system = await TestSystem.create('cli');
      env = system.env();
    });
    after(async () => system?.stop());

    it('creates an account, refuses a duplicate and a bad name', async () => {
      const ok = await runTz(['accounts', 'create', 'acme'], env);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /created account acme/);
      const dup = await runTz(['accounts', 'create', 'acme'], env);
      assert.equal(dup.code, 1);
      assert.match(dup.stderr, /already exists/);
      const bad = await runTz(['accounts', 'create', 'Bad Name!'], env);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /account names/);
      const [row] = await system.db.query('SELECT count(*)::int AS n FROM accounts');
      assert.equal(row.n, 1);
    });

    it('creates keys with every scope by default or the given ones; the key is the last stdout line', async () => {
      const all = await runTz(['keys', 'create', '--account', 'acme'], env);
      assert.equal(all.code, 0, all.stderr);
      const key = all.stdout.trim().split('\n').pop()!;
      assert.match(key, /^tzk_[0-9A-Za-z]{43}$/);
      const some = await runTz(['keys', 'create', '--account', 'acme', '--scopes', 'agents:read,audit:read'], env);
      assert.equal(some.code, 0, some.stderr);
      const rows = await system.db.query('SELECT scopes, key_hash FROM api_keys ORDER BY id');
      assert.equal(rows[0].scopes.length, 11);
      assert.deepEqual(rows[1].scopes, ['agents:read', 'audit:read']);
      // Only the hash is stored.
      const stored = JSON.stringify(await system.db.query('SELECT * FROM api_keys'));
      assert.ok(!stored.includes(key));
    });

    it('refuses unknown scopes, unknown accounts and bad usage, writing nothing', async () => {
      const [before] = await system.db.query('SELECT count(*)::int AS n FROM api_keys');
      const badScope = await runTz(['keys', 'create', '--account', 'acme', '--scopes', 'agents:read,root'], env);
      assert.equal(badScope.code, 1);
      assert.match(badScope.stderr, /unknown key scope root/);
      const noAccount = await runTz(['keys', 'create', '--account', 'nobody'], env);
      assert.equal(noAccount.code, 1);
      assert.match(noAccount.stderr, /account nobody not found/);
      const usage = await runTz(['keys', 'create'], env);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /--account is required/);
      const badFlag = await runTz(['keys', 'create', '--acount', 'acme'], env);
      assert.equal(badFlag.code, 2);
      const [after] = await system.db.query('SELECT count(*)::int AS n FROM api_keys');
      assert.equal(after.n, before.n);
    });

    it('sets and shows execution limits, and refuses bad limits, writing nothing', async () => {
      const shownDefaults = await runTz(['limits', 'show', '--account', 'acme'], env);
      assert.equal(shownDefaults.code, 0, shownDefaults.stderr);
      assert.match(shownDefaults.stdout, /executions per minute \(account\): +600 \(default\)/);
      assert.match(shownDefaults.stdout, /concurrency \(per agent\): +50 \(default\)/);
      assert.match(shownDefaults.stdout, /executions per hour \(per swarm\): +10 \(default\)/);
      const set = await runTz(['limits', 'set', '--account', 'acme', '--executions-per-minute', '120', '--concurrency', '4'], env);
      assert.equal(set.code, 0, set.stderr);
      const rowsAfterSet = await system.db.query('SELECT swarm, executions_per_hour, executions_per_minute, concurrency FROM rate_limits ORDER BY swarm');

      const refused: [string[], number, RegExp][] = [
        [['limits', 'set', '--account', 'nobody', '--concurrency', '3'], 1, /account nobody not found/],
        [['limits', 'set', '--account', 'acme'], 2, /give at least one limit/],
        [['limits', 'set', '--account', 'acme', '--concurrency', '0'], 2, /--concurrency must be a whole number of at least 1/],
        [['limits', 'set', '--account', 'acme', '--executions-per-minute', '1.5'], 2, /--executions-per-minute must be a whole number/],
        [['limits', 'set', '--account', 'acme', '--executions-per-hour=-3'], 2, /--executions-per-hour must be a whole number/],
        [['limits', 'set', '--account', 'acme', '--executions-per-hour', '-3'], 2, /argument is ambiguous/],
        [['limits', 'set', '--account', 'acme', '--swarm', 'crawlers', '--concurrency', '2'], 2, /a swarm has only --executions-per-hour/],
        [['limits', 'set', '--account', 'acme', '--swarm', 'bad swarm!', '--executions-per-hour', '2'], 2, /--swarm must be/],
        [['limits', 'set', '--account', 'acme', '--concurrency', '3', 'extra'], 2, /unexpected argument extra/],
        [['limits', 'show'], 2, /--account is required/],
        [['limits', 'show', '--account', 'nobody'], 1, /account nobody not found/],
      ];
      for (const [args, code, message] of refused) {
        const res = await runTz(args, env);
        assert.equal(res.code, code, `${args.join(' ')}: ${res.stderr}`);
        assert.match(res.stderr, message);
      }
      assert.deepEqual(await system.db.query('SELECT swarm, executions_per_hour, executions_per_minute, concurrency FROM rate_limits ORDER BY swarm'), rowsAfterSet);
      const shown = await runTz(['limits', 'show', '--account', 'acme'], env);
      assert.match(shown.stdout, /executions per minute \(account\): +120\n/);
      assert.match(shown.stdout, /concurrency \(per agent\): +4\n/);
    });

    it('lists keys by display prefix only', async () => {
      const res = await runTz(['keys', 'list', '--account', 'acme'], env);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /tzk_[0-9A-Za-z]{8}\tactive/);
      assert.ok(!/tzk_[0-9A-Za-z]{43}/.test(res.stdout));
    });

    it('revokes a key by prefix or whole key, at once on every api process', async () => {
      const apiOne = await system.startApi();
      const apiTwo = await system.startApi();
      const created = await runTz(['keys', 'create', '--account', 'acme', '--scopes', 'agents:read'], env);
      const key = created.stdout.trim().split('\n').pop()!;
      const other = (await runTz(['keys', 'create', '--account', 'acme'], env)).stdout.trim().split('\n').pop()!;
      // Warm both caches so revocation has something to evict.
      for (const api of [apiOne, apiTwo]) assert.equal((await api.get('/api/v1/sdk/agents', { key })).status, 200);
      const revoked = await runTz(['keys', 'revoke', key.slice(0, 12)], env);
      assert.equal(revoked.code, 0, revoked.stderr);
      for (const api of [apiOne, apiTwo]) {
        const res = await api.get('/api/v1/sdk/agents', { key });
        assert.equal(res.status, 401);
        assert.equal(res.body.error.code, 'unauthenticated');
      }
      // Other keys are unaffected; revoking the whole key works and is idempotent.
      assert.equal((await apiOne.get('/api/v1/sdk/agents', { key: other })).status, 200);
      assert.equal((await runTz(['keys', 'revoke', other], env)).code, 0);
      assert.equal((await apiTwo.get('/api/v1/sdk/agents', { key: other })).status, 401);
      assert.equal((await runTz(['keys', 'revoke', other], env)).code, 0);
      const unknown = await runTz(['keys', 'revoke', 'tzk_zzzzzzzz'], env);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /not found/);
    });
  });

  describe('configuration errors', () => {
    it('stops with one line naming the bad variable', async () => {
      for (const [name, value, pattern] of [
        ['PORT', 'eighty', /PORT/],
        ['REDIS_URL', 'http://x', /REDIS_URL must be a URL with scheme redis/],
        ['DATABASE_URL', 'mysql://x', /DATABASE_URL must be a URL with scheme postgres/],
        ['LOG_LEVEL', 'loud', /LOG_LEVEL/],
        ['SANDBOX_TRUSTED_CIDRS', 'not-a-cidr', /SANDBOX_TRUSTED_CIDRS/],
      ] as const) {
        const res = await runTz(['migrate'], { [name]: value });
        assert.equal(res.code, 1, `${name}: ${res.stderr}`);
        const lines = res.stderr.trim().split('\n');
        assert.equal(lines.length, 1, res.stderr);
        assert.match(lines[0]!, pattern);
      }
    });

    it('refuses to start the api without DATABASE_URL or against an unmigrated schema', async () => {
      await assert.rejects(startProcess('api/main.ts', { DATABASE_URL: '', PORT: '0' }, 'api listening', 15_000), /DATABASE_URL is required/);
      const empty = await createTestDatabase('unmigrated');
      try {
        await assert.rejects(
          startProcess('api/main.ts', { DATABASE_URL: empty.url, PORT: '0' }, 'api listening', 15_000),
          /run `tz migrate` first/,
        );
      } finally {
        await empty.drop();
      }
    });

    it('prints help and rejects unknown commands', async () => {
      const help = await runTz(['--help'], {});
      assert.equal(help.code, 0);
      assert.match(help.stdout, /keys revoke KEY_OR_PREFIX/);
      const unknown = await runTz(['frobnicate'], {});
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown command/);
    });
  });
});

// Keep the type import used when running this file alone.
void HttpClient;

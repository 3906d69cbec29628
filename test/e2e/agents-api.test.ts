// The agent registry and context store through a real api process.
import assert from 'node:assert/strict';
import { z } from 'zod';
import { buildOpenApiDocument } from '../../api/http/openapi.ts';
import { defineRoute, type RouteSpec } from '../../api/http/route.ts';
import { TestSystem, type TestAccount } from '../helpers/test-system.ts';
import type { HttpClient } from '../helpers/http-client.ts';

const AGENTS = '/api/v1/sdk/agents';

describe('agent registry API (e2e)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  let api: HttpClient;
  let alice: TestAccount;
  let bob: TestAccount;
  let a: HttpClient;
  let b: HttpClient;

  before(async () => {
    system = await TestSystem.create('agents');
    api = await system.startApi();
    alice = await system.createAccount('alice');
    bob = await system.createAccount('bob');
    a = api.withKey(alice.adminKey);
    b = api.withKey(bob.adminKey);
  });
  after(async () => system?.stop());

  async function countAgents(accountId: number): Promise<number> {
    const [row] = await system.db.query('SELECT count(*)::int AS n FROM agents WHERE account_id = $1', [accountId]);
    return row.n;
  }

  async function register(client: HttpClient, body: Record<string, unknown>) {
    const res = await client.post(AGENTS, body);
    assert.ok(res.status === 201 || res.status === 200, `register failed: ${res.status} ${res.text}`);
    return res.body.agent;
  }

  describe('register (POST)', () => {
    it('returns the product page shape for its curl example', async () => {
      const res = await a.post(AGENTS, {
        name: 'my-summarizer',
        version: '1.0.0',
        entry_code: 'await thetazero.write_result({ ok: true });',
        config: { memory_limit_mb: 128, cpu_time_limit_ms: 15000, max_api_calls_per_run: 10, allow_network: false },
        status: 'ready',
      });
      assert.equal(res.status, 201);
      assert.equal(res.body.success, true);
      const agent = res.body.agent;
      assert.equal(typeof agent.id, 'number');
      assert.equal(agent.name, 'my-summarizer');
      assert.equal(agent.version, '1.0.0');
      assert.equal(agent.status, 'ready');
      assert.deepEqual(agent.config, {
        memory_limit_mb: 128,
        cpu_time_limit_ms: 15000,
        max_api_calls_per_run: 10,
        allow_network: false,
        allow_filesystem: false,
        sandbox_template: 'STANDARD',
        allowed_domains: [],
      });
      assert.deepEqual(agent.permissions, ['compute:read', 'data:read']);
      assert.equal(agent.permissions_preset, 'READONLY');
      assert.equal(agent.entry_code, 'await thetazero.write_result({ ok: true });');
      for (const f of ['description', 'swarm', 'created_at', 'updated_at']) assert.ok(f in agent, f);
    });

    it('upserts by name: same id, 200, changed fields only', async () => {
      const first = await register(a, { name: 'upserted', version: '1.0.0', description: 'one', swarm: 'team-a' });
      const res = await a.post(AGENTS, { name: 'upserted', version: '2.0.0' });
      assert.equal(res.status, 200);
      assert.equal(res.body.agent.id, first.id);
      assert.equal(res.body.agent.version, '2.0.0');
      assert.equal(res.body.agent.description, 'one');
      assert.equal(res.body.agent.swarm, 'team-a');
    });

    it('applies the product page defaults when no template is named', async () => {
      const agent = await register(a, { name: 'defaults' });
      assert.deepEqual(agent.config, {
        memory_limit_mb: 128,
        cpu_time_limit_ms: 30000,
        max_api_calls_per_run: 50,
        allow_network: false,
        allow_filesystem: false,
        sandbox_template: 'STANDARD',
        allowed_domains: [],
      });
      assert.equal(agent.version, '1.0.0');
      assert.equal(agent.status, 'ready');
    });

    it('fills limits from a named template and lets explicit limits override it', async () => {
      const strict = await register(a, { name: 'strict', config: { sandbox_template: 'STRICT', memory_limit_mb: 512 } });
      assert.equal(strict.config.memory_limit_mb, 512);
      assert.equal(strict.config.cpu_time_limit_ms, 120000);
      assert.equal(strict.config.max_api_calls_per_run, 50);
      assert.equal(strict.content_safety, true);
      const dev = await register(a, { name: 'dev', config: { sandbox_template: 'DEV', allow_network: true } });
      assert.deepEqual([dev.config.memory_limit_mb, dev.config.cpu_time_limit_ms, dev.config.max_api_calls_per_run], [2048, 600000, 500]);
      assert.equal(dev.config.allow_network, true);
      assert.equal(dev.content_safety, false);
      const std = await register(a, { name: 'standard', config: { sandbox_template: 'STANDARD' } });
      assert.deepEqual([std.config.memory_limit_mb, std.config.cpu_time_limit_ms, std.config.max_api_calls_per_run], [512, 300000, 100]);
    });

    it('refuses network under STRICT with a 400 that says why, and writes nothing', async () => {
      const before = await countAgents(alice.id);
      const res = await a.post(AGENTS, { name: 'strict-net', config: { sandbox_template: 'STRICT', allow_network: true } });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.match(res.body.error.message, /STRICT blocks network/);
      assert.equal(res.body.error.details.field, 'config.allow_network');
      assert.equal(await countAgents(alice.id), before);
    });

    it('resolves every preset to its exact scopes, and accepts scope arrays', async () => {
      const expected: Record<string, string[]> = {
        READONLY: ['compute:read', 'data:read'],
        WRITER: ['data:read', 'inference:call'],
        RESEARCHER: ['agents:read', 'data:read', 'inference:call', 'network:outbound'],
        CODER: ['compute:read', 'compute:write', 'data:read', 'inference:call', 'network:outbound'],
        ANALYST: ['agents:read', 'compute:read', 'data:read', 'data:write', 'inference:call', 'storage:read', 'storage:write'],
      };
      for (const [preset, scopes] of Object.entries(expected)) {
        const agent = await register(a, { name: `preset-${preset.toLowerCase()}`, permissions: preset });
        assert.deepEqual(agent.permissions, scopes, preset);
        assert.equal(agent.permissions_preset, preset);
      }
      const full = await register(a, { name: 'preset-full', permissions: 'FULL' });
      assert.equal(full.permissions.length, 10);
      const custom = await register(a, { name: 'custom', permissions: ['inference:call', 'data:read', 'data:read'] });
      assert.deepEqual(custom.permissions, ['data:read', 'inference:call']);
      assert.equal(custom.permissions_preset, undefined);
    });
  });

  describe('read, update, delete', () => {
    it('lists newest first with paging and totals', async () => {
      const res = await a.get(`${AGENTS}?page=1&limit=2`);
      assert.equal(res.status, 200);
      assert.equal(res.body.success, true);
      assert.equal(res.body.page, 1);
      assert.equal(res.body.limit, 2);
      assert.equal(res.body.agents.length, 2);
      assert.equal(res.body.total, await countAgents(alice.id));
      assert.ok(res.body.agents[0].id > res.body.agents[1].id);
      assert.equal(res.body.agents[0].entry_code, undefined);
      const page2 = await a.get(`${AGENTS}?page=2&limit=2`);
      assert.ok(page2.body.agents[0].id < res.body.agents[1].id);
    });

    it('gets one agent with its entry code', async () => {
      const agent = await register(a, { name: 'getme', entry_code: 'return 1;' });
      const res = await a.get(`${AGENTS}/${agent.id}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.agent.entry_code, 'return 1;');
    });

    it('patches code, config and status; a template change re-fills limits', async () => {
      const agent = await register(a, { name: 'patchme', config: { memory_limit_mb: 200 } });
      let res = await a.patch(`${AGENTS}/${agent.id}`, { entry_code: 'return 2;', status: 'disabled', config: { max_api_calls_per_run: 7 } });
      assert.equal(res.status, 200);
      assert.equal(res.body.agent.entry_code, 'return 2;');
      assert.equal(res.body.agent.status, 'disabled');
      assert.equal(res.body.agent.config.memory_limit_mb, 200);
      assert.equal(res.body.agent.config.max_api_calls_per_run, 7);
      res = await a.patch(`${AGENTS}/${agent.id}`, { config: { sandbox_template: 'STRICT' } });
      assert.equal(res.body.agent.config.memory_limit_mb, 256);
      assert.equal(res.body.agent.config.sandbox_template, 'STRICT');
    });

    it('refuses a rename onto an existing name with 409 and changes nothing', async () => {
      const one = await register(a, { name: 'name-one' });
      await register(a, { name: 'name-two' });
      const res = await a.patch(`${AGENTS}/${one.id}`, { name: 'name-two', version: '9.9.9' });
      assert.equal(res.status, 409);
      assert.equal(res.body.error.code, 'agent_name_taken');
      const after = await a.get(`${AGENTS}/${one.id}`);
      assert.equal(after.body.agent.name, 'name-one');
      assert.equal(after.body.agent.version, '1.0.0');
    });

    it('deletes an agent and its context', async () => {
      const agent = await register(a, { name: 'deleteme' });
      await a.put(`${AGENTS}/${agent.id}/context/k`, { value: 1 });
      const res = await a.delete(`${AGENTS}/${agent.id}`);
      assert.equal(res.status, 200);
      assert.equal((await a.get(`${AGENTS}/${agent.id}`)).status, 404);
      const [row] = await system.db.query('SELECT count(*)::int AS n FROM agent_context WHERE agent_id = $1', [agent.id]);
      assert.equal(row.n, 0);
      assert.equal((await a.delete(`${AGENTS}/${agent.id}`)).status, 404);
    });
  });

  describe('context store', () => {
    let agentId: number;
    before(async () => {
      agentId = (await register(a, { name: 'ctx' })).id;
    });

    it('puts, gets, lists and deletes JSON values', async () => {
      for (const [key, value] of [['run_count', 3], ['cfg.v1', { nested: [1, 'two', null] }], ['s', 'text']] as const) {
        const put = await a.put(`${AGENTS}/${agentId}/context/${key}`, { value });
        assert.equal(put.status, 200);
        const got = await a.get(`${AGENTS}/${agentId}/context/${key}`);
        assert.equal(got.status, 200);
        assert.deepEqual(got.body.value, value);
        assert.equal(got.body.key, key);
        assert.ok(got.body.updated_at);
      }
      const list = await a.get(`${AGENTS}/${agentId}/context`);
      assert.deepEqual(list.body.keys.map((k: { key: string }) => k.key), ['cfg.v1', 'run_count', 's']);
      assert.equal((await a.delete(`${AGENTS}/${agentId}/context/s`)).status, 200);
      assert.equal((await a.get(`${AGENTS}/${agentId}/context/s`)).status, 404);
    });

    it('answers 404 for an unset key', async () => {
      const res = await a.get(`${AGENTS}/${agentId}/context/never-set`);
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'not_found');
    });

    it('refuses oversized values and bad keys, writing nothing', async () => {
      const big = await a.put(`${AGENTS}/${agentId}/context/big`, { value: 'x'.repeat(300 * 1024) });
      assert.equal(big.status, 400);
      assert.equal(big.body.error.details.field, 'value');
      const badKey = await a.put(`${AGENTS}/${agentId}/context/${encodeURIComponent('bad key!')}`, { value: 1 });
      assert.equal(badKey.status, 400);
      assert.equal(badKey.body.error.details.field, 'key');
      const missing = await a.put(`${AGENTS}/${agentId}/context/k2`, {});
      assert.equal(missing.status, 400);
      const [row] = await system.db.query("SELECT count(*)::int AS n FROM agent_context WHERE key IN ('big', 'k2')");
      assert.equal(row.n, 0);
    });
  });

  describe('authentication and scopes', () => {
    it('answers 401 for a missing, malformed or unknown key', async () => {
      for (const authorization of [undefined, 'Bearer nope', `Bearer tzk_${'A'.repeat(43)}`, 'Basic abc']) {
        const res = await api.get(AGENTS, { headers: authorization ? { authorization } : {} });
        assert.equal(res.status, 401, String(authorization));
        assert.equal(res.body.error.code, 'unauthenticated');
      }
    });

    it('answers 403 insufficient_scope naming the missing scope', async () => {
      const readOnly = api.withKey(await system.createKey(alice.id, ['agents:read']));
      assert.equal((await readOnly.get(AGENTS)).status, 200);
      const res = await readOnly.post(AGENTS, { name: 'nope' });
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'insufficient_scope');
      assert.equal(res.body.error.details.required_scope, 'agents:write');
      assert.match(res.body.error.message, /agents:write/);
      const noRead = api.withKey(await system.createKey(alice.id, ['executions:run']));
      assert.equal((await noRead.get(AGENTS)).body.error.details.required_scope, 'agents:read');
    });

    it('gives another account 404 for every agent resource, and hides it from lists', async () => {
      const agent = await register(a, { name: 'private' });
      await a.put(`${AGENTS}/${agent.id}/context/secret`, { value: 's3cret' });
      const attempts = [
        b.get(`${AGENTS}/${agent.id}`),
        b.patch(`${AGENTS}/${agent.id}`, { version: '6.6.6' }),
        b.delete(`${AGENTS}/${agent.id}`),
        b.get(`${AGENTS}/${agent.id}/context`),
        b.get(`${AGENTS}/${agent.id}/context/secret`),
        b.put(`${AGENTS}/${agent.id}/context/secret`, { value: 'pwned' }),
        b.delete(`${AGENTS}/${agent.id}/context/secret`),
      ];
      for (const res of await Promise.all(attempts)) {
        assert.equal(res.status, 404);
        assert.equal(res.body.error.code, 'not_found');
      }
      const list = await b.get(AGENTS);
      assert.ok(!list.body.agents.some((x: { id: number }) => x.id === agent.id));
      const mine = await a.get(`${AGENTS}/${agent.id}/context/secret`);
      assert.equal(mine.body.value, 's3cret');
      assert.equal((await a.get(`${AGENTS}/${agent.id}`)).body.agent.version, '1.0.0');
    });

    it('shows a write on one api process to reads on another at once (cache invalidation)', async () => {
      const second = (await system.startApi()).withKey(alice.adminKey);
      const agent = await register(a, { name: 'cached', version: '1.0.0' });
      assert.equal((await second.get(`${AGENTS}/${agent.id}`)).body.agent.version, '1.0.0');
      assert.equal((await a.patch(`${AGENTS}/${agent.id}`, { version: '2.0.0' })).status, 200);
      assert.equal((await second.get(`${AGENTS}/${agent.id}`)).body.agent.version, '2.0.0');
      await register(a, { name: 'cached', version: '3.0.0' });
      assert.equal((await second.get(`${AGENTS}/${agent.id}`)).body.agent.version, '3.0.0');
      assert.equal((await a.delete(`${AGENTS}/${agent.id}`)).status, 200);
      assert.equal((await second.get(`${AGENTS}/${agent.id}`)).status, 404);
      assert.equal((await second.get(`${AGENTS}/${agent.id}/context`)).status, 404);
    });

    it('lets two accounts use the same agent name independently', async () => {
      const mine = await register(a, { name: 'shared-name' });
      const theirs = await register(b, { name: 'shared-name' });
      assert.notEqual(mine.id, theirs.id);
    });
  });

  describe('bad input: 4xx with a clear error and nothing written', () => {
    const cases: [string, () => Promise<{ status: number; body: any }>, number, string, string?][] = [];
    const add = (title: string, call: () => Promise<{ status: number; body: any }>, status: number, code: string, field?: string) =>
      cases.push([title, call, status, code, field]);
    add('malformed JSON', () => a.request('POST', AGENTS, { rawBody: '{"name": "x",', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
    add('non-JSON content type', () => a.request('POST', AGENTS, { rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
    add('missing body', () => a.request('POST', AGENTS, {}), 400, 'validation_failed', 'body');
    add('JSON array body', () => a.post(AGENTS, [{ name: 'x' }]), 400, 'validation_failed', 'body');
    add('wrong type', () => a.post(AGENTS, { name: 'bad-type', config: { memory_limit_mb: '128' } }), 400, 'validation_failed', 'config.memory_limit_mb');
    add('unknown field', () => a.post(AGENTS, { name: 'bad-field', colour: 'red' }), 400, 'validation_failed', 'colour');
    add('unknown config field', () => a.post(AGENTS, { name: 'bad-cfg', config: { gpu: true } }), 400, 'validation_failed', 'config.gpu');
    add('unknown scope', () => a.post(AGENTS, { name: 'bad-scope', permissions: ['root'] }), 400, 'validation_failed', 'permissions');
    add('unknown preset', () => a.post(AGENTS, { name: 'bad-preset', permissions: 'GOD' }), 400, 'validation_failed', 'permissions');
    add('unknown template', () => a.post(AGENTS, { name: 'bad-tpl', config: { sandbox_template: 'LAX' } }), 400, 'validation_failed', 'config.sandbox_template');
    add('limit out of bounds', () => a.post(AGENTS, { name: 'bad-mem', config: { memory_limit_mb: 1_000_000 } }), 400, 'validation_failed', 'config.memory_limit_mb');
    add('bad domain', () => a.post(AGENTS, { name: 'bad-dom', config: { allow_network: true, allowed_domains: ['http://x.com/'] } }), 400, 'validation_failed', 'config.allowed_domains.0');
    add('name outside the pattern', () => a.post(AGENTS, { name: '../etc/passwd' }), 400, 'validation_failed', 'name');
    add('empty name', () => a.post(AGENTS, { name: '' }), 400, 'validation_failed', 'name');
    add('status halted set by client', () => a.post(AGENTS, { name: 'bad-status', status: 'halted' }), 400, 'validation_failed', 'status');
    add('oversized entry_code', () => a.post(AGENTS, { name: 'big-code', entry_code: 'x'.repeat(300 * 1024) }), 400, 'validation_failed', 'entry_code');
    add('oversized body', () => a.post(AGENTS, { name: 'big-body', description: 'x'.repeat(3 * 1024 * 1024) }), 413, 'payload_too_large');
    add('non-numeric id', () => a.get(`${AGENTS}/abc`), 400, 'validation_failed', 'id');
    add('negative id', () => a.patch(`${AGENTS}/-1`, { version: '2' }), 400, 'validation_failed', 'id');
    add('huge id', () => a.delete(`${AGENTS}/99999999999999999999`), 400, 'validation_failed', 'id');
    add('bad page', () => a.get(`${AGENTS}?page=zero`), 400, 'validation_failed', 'page');
    add('limit too high', () => a.get(`${AGENTS}?limit=1000`), 400, 'validation_failed', 'limit');
    add('unknown query parameter', () => a.get(`${AGENTS}?sort=name`), 400, 'validation_failed', 'sort');
    add('empty patch', () => a.patch(`${AGENTS}/1`, {}), 400, 'validation_failed');

    for (const [title, call, status, code, field] of cases) {
      it(`${title} -> ${status} ${code}`, async () => {
        const before = await countAgents(alice.id);
        const res = await call();
        assert.equal(res.status, status, JSON.stringify(res.body));
        assert.equal(res.body.error.code, code);
        assert.equal(typeof res.body.error.message, 'string');
        if (field) assert.equal(res.body.error.details.field, field, res.body.error.message);
        assert.equal(await countAgents(alice.id), before);
      });
    }

    it('answers unknown routes and methods with JSON errors', async () => {
      const missing = await a.get('/api/v1/sdk/nothing');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'not_found');
      const wrongMethod = await a.request('PUT', AGENTS, { body: {} });
      assert.equal(wrongMethod.status, 405);
      assert.equal(wrongMethod.body.error.code, 'method_not_allowed');
    });
  });

  describe('health and OpenAPI', () => {
    it('serves /healthz and /readyz without a key', async () => {
      assert.deepEqual((await api.get('/healthz')).body, { status: 'ok' });
      const ready = await api.get('/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body.checks, { postgres: { ok: true }, redis: { ok: true } });
    });

    it('serves an OpenAPI 3.1 document with every route, the error shape and the key scheme', async () => {
      const res = await api.get('/api/v1/openapi.json');
      assert.equal(res.status, 200);
      const doc = res.body;
      assert.equal(doc.openapi, '3.1.0');
      assert.equal(doc.components.securitySchemes.apiKey.scheme, 'bearer');
      assert.ok(doc.components.schemas.Error);
      const post = doc.paths['/api/v1/sdk/agents'].post;
      assert.equal(post['x-required-key-scope'], 'agents:write');
      assert.ok(post.requestBody.content['application/json'].schema.properties.entry_code);
      assert.equal(post.requestBody.content['application/json'].schema.additionalProperties, false);
      assert.ok(doc.paths['/api/v1/sdk/agents/{id}'].get.parameters.some((p: { name: string }) => p.name === 'id'));
      assert.ok(doc.paths['/api/v1/sdk/agents/{id}/context/{key}'].put);
      assert.ok(doc.paths['/api/v1/sdk/agents/{id}'].patch.responses['404']);
    });

    /** Every [path, value] below node, the path as JSON-pointer segments. */
    function* walk(node: unknown, path: string[] = []): Generator<[string[], unknown]> {
      yield [path, node];
      if (node !== null && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) yield* walk(value, [...path, key]);
      }
    }

    function resolvePointer(doc: unknown, ref: string): unknown {
      assert.ok(ref.startsWith('#/'), `${ref} is not a local JSON pointer`);
      let node = doc;
      for (const raw of ref.slice(2).split('/')) {
        const segment = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
        if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) return undefined;
        node = (node as Record<string, unknown>)[segment];
      }
      return node;
    }

    it('resolves every $ref of the OpenAPI document inside the document, with no $defs under paths', async () => {
      const doc = (await api.get('/api/v1/openapi.json')).body;
      const refs = [...walk(doc)].filter(([path]) => path.at(-1) === '$ref').map(([, ref]) => ref as string);
      assert.ok(refs.length > 0);
      for (const ref of refs) assert.ok(resolvePointer(doc, ref) !== undefined, `unresolved $ref ${ref}`);
      const defs = [...walk(doc.paths, ['paths'])].filter(([path]) => path.at(-1) === '$defs');
      assert.deepEqual(defs.map(([path]) => path.join('/')), []);
      const artefacts = [...walk(doc)].filter(([path, value]) => path.at(-1) === '$id' || (path.at(-1) === 'id' && typeof value === 'string'));
      assert.deepEqual(artefacts.map(([path]) => path.join('/')), []);
    });

    it('puts AuditRecord in components.schemas and references it from the audit query response', async () => {
      const doc = (await api.get('/api/v1/openapi.json')).body;
      const record = doc.components.schemas.AuditRecord;
      assert.equal(record.type, 'object');
      assert.ok(record.properties.sequence);
      const events = doc.paths['/api/v1/sdk/audit'].get.responses['200'].content['application/json'].schema.properties.events;
      assert.deepEqual(events.items, { $ref: '#/components/schemas/AuditRecord' });
      assert.deepEqual(doc.paths['/api/v1/sdk/audit'].get.responses['401'].content['application/json'].schema, {
        $ref: '#/components/schemas/Error',
      });
    });

    /** A one-route spec that takes `schema` as its request body or answers with it. */
    function fakeRoute(path: string, schema: z.ZodType, as: 'body' | 'response'): RouteSpec {
      return defineRoute({
        method: 'post',
        path,
        summary: path,
        tag: 'Test',
        auth: 'public',
        ...(as === 'body' ? { body: schema } : {}),
        responses: { 200: { description: 'ok', ...(as === 'response' ? { schema } : {}) } },
        handle: async () => ({ status: 200 }),
      });
    }
    const info = { title: 'test', version: '0' };

    it('refuses to build the OpenAPI document when two different schemas share an id', () => {
      const one = z.object({ a: z.string() }).meta({ id: 'Clash' });
      const other = z.object({ b: z.number() }).meta({ id: 'Clash' });
      assert.throws(
        () => buildOpenApiDocument([fakeRoute('/one', one, 'response'), fakeRoute('/two', other, 'response')], info),
        /^Error: Cannot build the OpenAPI document: Duplicate schema id "Clash"/,
      );
      assert.throws(
        () => buildOpenApiDocument([fakeRoute('/one', one, 'body'), fakeRoute('/two', other, 'response')], info),
        /^Error: Cannot build the OpenAPI document: two different schemas claim the id "Clash"/,
      );
    });

    it('shares one component between request and response only when both forms of the schema agree', () => {
      const strict = z.object({ a: z.string() }).strict().meta({ id: 'Both' });
      const doc = buildOpenApiDocument([fakeRoute('/in', strict, 'body'), fakeRoute('/out', strict, 'response')], info);
      assert.deepEqual(resolvePointer(doc, '#/components/schemas/Both'), {
        type: 'object',
        properties: { a: { type: 'string' } },
        required: ['a'],
        additionalProperties: false,
      });
      const both = { $ref: '#/components/schemas/Both' };
      assert.deepEqual(resolvePointer(doc, '#/paths/~1in/post/requestBody/content/application~1json/schema'), both);
      assert.deepEqual(resolvePointer(doc, '#/paths/~1out/post/responses/200/content/application~1json/schema'), both);
      // Not strict: the request form allows extra keys, the response form does not.
      const loose = z.object({ a: z.string() }).meta({ id: 'Loose' });
      assert.throws(
        () => buildOpenApiDocument([fakeRoute('/in', loose, 'body'), fakeRoute('/out', loose, 'response')], info),
        /Cannot build the OpenAPI document: the schema with id "Loose" differs between request and response/,
      );
    });
  });
});

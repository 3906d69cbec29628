// The audit trail end to end: api and CLI changes become chained records through the
// recorder (scheduler process), which survives crashes and concurrent peers; records are
// immutable, queryable, exportable, verifiable and streamed live.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { auditEvent, type AuditEvent } from '../../shared/audit/audit-event.ts';
import { RedisAuditSink } from '../../shared/audit/audit-sink.ts';
import { redisKeys } from '../../shared/redis/keys.ts';
import type { HttpClient } from '../helpers/http-client.ts';
import { runTz } from '../helpers/processes.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { querySuperuser } from '../helpers/test-database.ts';
import { TEST_REDIS_URL } from '../helpers/test-redis.ts';
import { TestSystem, type TestAccount } from '../helpers/test-system.ts';
import { waitFor } from '../helpers/wait-for.ts';

const AUDIT = '/api/v1/sdk/audit';

describe('audit trail (e2e)', function () {
  this.timeout(120_000);
  let system: TestSystem;
  let api: HttpClient;
  let api2: HttpClient;
  let alice: TestAccount;
  let bob: TestAccount;
  let a: HttpClient;
  let b: HttpClient;
  let redis: Redis;
  let sink: RedisAuditSink;

  before(async () => {
    system = await TestSystem.create('audit');
    alice = await system.createAccount('alice');
    bob = await system.createAccount('bob');
    const env = { AUDIT_STREAM_KEEPALIVE_MS: '300', AUDIT_STREAM_MAX_AGE_MS: '8000', AUDIT_RECORDER_LEASE_MS: '1000' };
    api = await system.startApi(env);
    api2 = await system.startApi(env);
    await system.startScheduler(env);
    a = api.withKey(alice.adminKey);
    b = api.withKey(bob.adminKey);
    redis = new Redis(TEST_REDIS_URL);
    sink = new RedisAuditSink(redis, redisKeys(system.redisPrefix));
  });
  after(async () => {
    redis?.disconnect();
    await system?.stop();
  });

  async function chainLength(accountId: number): Promise<number> {
    const [row] = await system.db.query('SELECT count(*)::int AS n FROM audit_records WHERE account_id = $1', [accountId]);
    return row.n;
  }

  function events(accountId: number, n: number, extra: Partial<Parameters<typeof auditEvent>[0]> = {}): AuditEvent[] {
    return Array.from({ length: n }, (_, i) =>
      auditEvent({ accountId, actor: 'node:test-node', actionType: 'api_call', description: `call ${i}`, ...extra }),
    );
  }

  /** Until the outbox and the stream are drained: everything produced so far is recorded. */
  async function settle(): Promise<void> {
    const keys = redisKeys(system.redisPrefix);
    await waitFor(
      async () => {
        const [row] = await system.db.query('SELECT count(*)::int AS n FROM audit_outbox');
        return row.n + (await redis.xlen(keys.auditStream));
      },
      (n) => n === 0,
      { what: 'the recorder to drain outbox and stream' },
    );
  }

  async function waitForRecords(accountId: number, count: number) {
    return waitFor(() => chainLength(accountId), (n) => n >= count, { what: `${count} records for account ${accountId}` });
  }

  describe('recording', () => {
    it('records agent and key changes made through the api and the CLI, chained per account', async () => {
      await settle();
      const before = await chainLength(alice.id);
      const created = await a.post('/api/v1/sdk/agents', { name: 'audited', permissions: 'WRITER', entry_code: 'return 1;' });
      const id = created.body.agent.id;
      await a.patch(`/api/v1/sdk/agents/${id}`, { version: '2.0.0' });
      await a.delete(`/api/v1/sdk/agents/${id}`);
      const key = (await runTz(['keys', 'create', '--account', 'alice', '--scopes', 'agents:read'], system.env())).stdout.trim().split('\n').pop()!;
      await runTz(['keys', 'revoke', key.slice(0, 12)], system.env());
      await waitForRecords(alice.id, before + 5);
      const res = await a.get(`${AUDIT}?limit=1000`);
      const types = res.body.events.slice(-5).map((e: { action_type: string }) => e.action_type);
      assert.deepEqual(types, ['agent_created', 'agent_updated', 'agent_deleted', 'key_created', 'key_revoked']);
      const [createdEvent, updated, , keyCreated] = res.body.events.slice(-5);
      assert.equal(createdEvent.actor, alice.adminKey.slice(0, 12));
      assert.equal(createdEvent.agent_id, id);
      assert.equal(createdEvent.action_category, 'agent_lifecycle');
      assert.deepEqual(createdEvent.permission_state.scopes, ['data:read', 'inference:call']);
      assert.match(createdEvent.input_summary, /sha256:[0-9a-f]{64} \(9 chars\)/);
      assert.match(updated.description, /updated: version/);
      assert.match(keyCreated.actor, /^cli:/);
      assert.ok(!JSON.stringify(res.body).includes(key), 'a key never appears in the audit trail');
      // Sequences are contiguous and each prev_hash is the previous hash.
      const all = res.body.events;
      all.forEach((e: { sequence: number; prev_hash: string }, i: number) => {
        assert.equal(e.sequence, i + 1);
        assert.equal(e.prev_hash, i === 0 ? '0'.repeat(64) : all[i - 1].hash);
      });
    });

    it('keeps each account chain intact under concurrent writers (two recorders, stream and outbox)', async () => {
      await system.startScheduler({ AUDIT_RECORDER_LEASE_MS: '1000' });
      const startA = await chainLength(alice.id);
      const startB = await chainLength(bob.id);
      const batches = Array.from({ length: 20 }, (_, i) => events(i % 2 ? alice.id : bob.id, 50));
      await Promise.all([
        ...batches.map((batch) => sink.append(batch)),
        ...Array.from({ length: 10 }, (_, i) => a.post('/api/v1/sdk/agents', { name: `concurrent-${i}` })),
      ]);
      await waitForRecords(alice.id, startA + 500 + 10);
      await waitForRecords(bob.id, startB + 500);
      for (const account of ['alice', 'bob']) {
        const res = await runTz(['audit', 'verify', '--account', account], system.env());
        assert.equal(res.code, 0, res.stdout + res.stderr);
        assert.match(res.stdout, /chain valid/);
      }
      const [dups] = await system.db.query('SELECT count(*)::int AS n FROM (SELECT event_id FROM audit_records GROUP BY event_id HAVING count(*) > 1) d');
      assert.equal(dups.n, 0);
    });

    it('loses nothing, duplicates nothing and keeps order when the active recorder is killed mid-stream', async () => {
      const start = await chainLength(bob.id);
      const sent = events(bob.id, 3000);
      for (let i = 0; i < sent.length; i += 500) await sink.append(sent.slice(i, i + 500));
      await waitFor(() => chainLength(bob.id), (n) => n > start, { what: 'recording to begin' });
      const holder = await redis.get(redisKeys(system.redisPrefix).auditRecorderLease);
      const victim = system.processByPid(Number(holder?.split('-').at(-2)));
      assert.ok(victim, `lease holder ${holder} is one of ours`);
      await victim.stop('SIGKILL');
      await waitForRecords(bob.id, start + sent.length);
      const rows = await system.db.query('SELECT event_id FROM audit_records WHERE event_id = ANY($1::text[]) ORDER BY sequence', [sent.map((e) => e.event_id)]);
      assert.equal(rows.length, sent.length);
      // One active recorder at a time: the chain keeps the order events were appended in.
      assert.deepEqual(rows.map((r: { event_id: string }) => r.event_id), sent.map((e) => e.event_id));
      assert.equal(new Set(rows.map((r: { event_id: string }) => r.event_id)).size, sent.length);
      const verify = await runTz(['audit', 'verify', '--account', 'bob'], system.env());
      assert.equal(verify.code, 0, verify.stdout);
    });

    it('writes a redelivered event once', async () => {
      const start = await chainLength(bob.id);
      const [event] = events(bob.id, 1);
      await sink.append([event!]);
      await sink.append([event!]);
      await sink.append([event!, event!]);
      await waitForRecords(bob.id, start + 1);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await chainLength(bob.id), start + 1);
    });

    it('dead-letters stream entries that are not valid events, and keeps going', async () => {
      const keys = redisKeys(system.redisPrefix);
      await redis.xadd(keys.auditStream, '*', 'event', '{"not":"an event"}');
      await redis.xadd(keys.auditStream, '*', 'event', 'not json');
      await redis.xadd(keys.auditStream, '*', 'event', JSON.stringify(events(999_999, 1)[0]));
      const start = await chainLength(bob.id);
      await sink.append(events(bob.id, 3));
      await waitForRecords(bob.id, start + 3);
      await waitFor(() => redis.xlen(keys.auditDeadLetterStream), (n) => n >= 3, { what: 'dead letters' });
    });
  });

  describe('immutability', () => {
    for (const [what, sql] of [
      ['UPDATE', `UPDATE audit_records SET description = 'edited'`],
      ['DELETE', `DELETE FROM audit_records`],
      ['TRUNCATE', `TRUNCATE audit_records`],
    ] as const) {
      it(`raises on ${what}, even for the superuser, and on a partition directly`, async () => {
        await assert.rejects(querySuperuser(system.database.url, sql), /audit_records is append-only/);
        const [partition] = await system.db.query(`SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'audit_records'::regclass LIMIT 1`);
        await assert.rejects(querySuperuser(system.database.url, sql.replace('audit_records', partition.name)), /append-only/);
      });
    }

    it('reports a record edited behind the trigger, at that record', async () => {
      const sent = events(alice.id, 5, { description: 'tamper target' });
      const start = await chainLength(alice.id);
      await sink.append(sent);
      await waitForRecords(alice.id, start + 5);
      const [target] = await system.db.query(`SELECT id, sequence FROM audit_records WHERE event_id = $1`, [sent[2]!.event_id]);
      const ok = await a.get(`${AUDIT}/${target.id}/verify`);
      assert.equal(ok.status, 200);
      assert.equal(ok.body.chain_valid, true);
      assert.equal(ok.body.anchored, false);
      // A superuser can switch triggers off; the hash chain still tells.
      await querySuperuser(system.database.url, `SET session_replication_role = replica; UPDATE audit_records SET description = 'rewritten' WHERE id = ${Number(target.id)}`);
      const bad = await a.get(`${AUDIT}/${target.id}/verify`);
      assert.equal(bad.body.chain_valid, false);
      assert.equal(bad.body.broken_at.record_id, Number(target.id));
      assert.equal(bad.body.broken_at.reason, 'hash_mismatch');
      const cli = await runTz(['audit', 'verify', '--account', 'alice'], system.env());
      assert.equal(cli.code, 1);
      assert.match(cli.stdout, new RegExp(`BROKEN at sequence ${target.sequence} \\(record ${target.id}\\): hash mismatch`));
      const summary = await a.get(`${AUDIT}/export?format=summary`);
      assert.equal(summary.body.chain.valid, false);
      // Later checks need an intact chain: give alice's tampered chain to history.
      await querySuperuser(system.database.url, `SET session_replication_role = replica; UPDATE audit_records SET description = 'tamper target' WHERE id = ${Number(target.id)}`);
      assert.equal((await a.get(`${AUDIT}/${target.id}/verify`)).body.chain_valid, true);
    });
  });

  describe('query, export and verification', () => {
    let executionEvents: AuditEvent[];
    before(async () => {
      const start = await chainLength(bob.id);
      executionEvents = [
        ...events(bob.id, 3, { executionId: 77, agentId: 5 }),
        ...events(bob.id, 2, { executionId: 78, agentId: 6, actionType: 'permission_denied', isViolation: true, description: '=HYPERLINK("http://evil","x"), "quoted"\nnext line' }),
      ];
      await sink.append(executionEvents);
      await waitForRecords(bob.id, start + executionEvents.length);
    });

    it('filters by execution, agent, action types and violations, and pages with a cursor', async () => {
      const byExecution = await b.get(`${AUDIT}?executionId=77`);
      assert.equal(byExecution.body.total, 3);
      assert.ok(byExecution.body.events.every((e: { execution_id: number }) => e.execution_id === 77));
      assert.equal((await b.get(`${AUDIT}?agentId=6`)).body.total, 2);
      const violations = await b.get(`${AUDIT}?violationsOnly=true`);
      assert.ok(violations.body.total >= 2);
      assert.ok(violations.body.events.every((e: { is_violation: boolean }) => e.is_violation));
      const typed = await b.get(`${AUDIT}?actionTypes=permission_denied,rate_limit_hit`);
      assert.ok(typed.body.events.every((e: { action_type: string }) => e.action_type === 'permission_denied'));
      const seen: number[] = [];
      let cursor: string | null = null;
      const total = (await b.get(`${AUDIT}?limit=1`)).body.total;
      do {
        const page: any = await b.get(`${AUDIT}?limit=400${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(page.body.total, total);
        seen.push(...page.body.events.map((e: { sequence: number }) => e.sequence));
        cursor = page.body.next_cursor;
      } while (cursor);
      assert.equal(seen.length, total);
      assert.deepEqual(seen, [...seen].sort((x, y) => x - y));
      const times = (await b.get(`${AUDIT}?limit=1000`)).body.events.map((e: { recorded_at: string }) => e.recorded_at);
      assert.deepEqual(times, [...times].sort());
    });

    it('filters by time range (dates cover whole days)', async () => {
      const today = new Date().toISOString().slice(0, 10);
      const all = (await b.get(`${AUDIT}?limit=1`)).body.total;
      assert.equal((await b.get(`${AUDIT}?from=${today}&to=${today}&limit=1`)).body.total, all);
      assert.equal((await b.get(`${AUDIT}?to=2000-01-01&limit=1`)).body.total, 0);
      const future = new Date(Date.now() + 3_600_000).toISOString();
      assert.equal((await b.get(`${AUDIT}?from=${encodeURIComponent(future)}&limit=1`)).body.total, 0);
    });

    it('exports CSV with RFC 4180 quoting and formula cells neutralised', async () => {
      const res = await b.request('GET', `${AUDIT}/export?format=csv`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type')!, /text\/csv/);
      assert.match(res.headers.get('content-disposition')!, /attachment; filename="audit-.*\.csv"/);
      const lines = res.text.split('\r\n');
      assert.match(lines[0]!, /^id,sequence,recorded_at,event_id,/);
      assert.ok(res.text.includes(`"'=HYPERLINK(""http://evil"",""x""), ""quoted""\nnext line"`), res.text.slice(-600));
      assert.ok(!/(^|,)=HYPERLINK/.test(res.text));
    });

    it('exports JSON that parses and holds every record, and a summary with chain status', async () => {
      const json = await b.request('GET', `${AUDIT}/export?format=json`);
      assert.equal(json.status, 200);
      const total = (await b.get(`${AUDIT}?limit=1`)).body.total;
      assert.equal(json.body.events.length, total);
      const summary = await b.get(`${AUDIT}/export?format=summary`);
      assert.equal(summary.body.total, total);
      assert.equal(summary.body.by_action_type.permission_denied, 2);
      assert.ok(summary.body.violations >= 2);
      assert.equal(summary.body.chain.valid, true);
      assert.equal(summary.body.chain.checked, total);
    });

    it('keeps every endpoint tenant-scoped', async () => {
      const aliceRecord = (await a.get(`${AUDIT}?limit=1`)).body.events[0];
      assert.equal((await b.get(`${AUDIT}/${aliceRecord.id}/verify`)).status, 404);
      const bobAll = await b.get(`${AUDIT}?limit=1000`);
      assert.ok(bobAll.body.events.every((e: { event_id: string }) => e.event_id !== aliceRecord.event_id));
      const exported = await b.request('GET', `${AUDIT}/export?format=csv`);
      assert.ok(!exported.text.includes(aliceRecord.event_id));
      const sse = new SseClient(`${api.baseUrl}/api/sdk/audit/stream`, { authorization: `Bearer ${bob.adminKey}`, 'last-event-id': String(aliceRecord.id) });
      await sse.ready();
      assert.equal(sse.status, 400);
      sse.close();
    });

    const bad: [string, string, string][] = [
      ['unknown action type', '?actionTypes=api_call,nope', 'actionTypes'],
      ['bad date', '?from=yesterday', 'from'],
      ['from after to', '?from=2026-02-01&to=2026-01-01', 'from'],
      ['limit too high', '?limit=1001', 'limit'],
      ['limit zero', '?limit=0', 'limit'],
      ['forged cursor', '?cursor=abc', 'cursor'],
      ['bad boolean', '?violationsOnly=yes', 'violationsOnly'],
      ['bad id', '?agentId=x', 'agentId'],
      ['unknown parameter', '?sort=desc', 'sort'],
    ];
    for (const [title, query, field] of bad) {
      it(`answers 400 naming the field for ${title}`, async () => {
        const res = await b.get(`${AUDIT}${query}`);
        assert.equal(res.status, 400, res.text);
        assert.equal(res.body.error.code, 'validation_failed');
        assert.match(res.body.error.details.field, new RegExp(`^${field}(\\.|$)`));
      });
    }

    it('answers 400 for a bad export format or record id, and 403 without audit:read', async () => {
      assert.equal((await b.get(`${AUDIT}/export?format=xml`)).body.error.details.field, 'format');
      assert.equal((await b.get(`${AUDIT}/abc/verify`)).body.error.details.field, 'recordId');
      const noAudit = api.withKey(await system.createKey(bob.id, ['agents:read']));
      const res = await noAudit.get(AUDIT);
      assert.equal(res.status, 403);
      assert.equal(res.body.error.details.required_scope, 'audit:read');
    });
  });

  describe('live stream (SSE)', () => {
    const streamUrl = (client: HttpClient, query = '') => `${client.baseUrl}/api/sdk/audit/stream${query}`;

    it('replays from `since`, then continues live in order with no gap or duplicate, across api processes', async () => {
      const since = new Date().toISOString();
      const first = events(bob.id, 30);
      await sink.append(first);
      await waitFor(() => b.get(`${AUDIT}?from=${encodeURIComponent(since)}&limit=1`), (r) => r.body.total >= 30, { what: 'first batch recorded' });
      // Served by the second api process; records are published by the scheduler process.
      const sse = new SseClient(streamUrl(api2, `?since=${encodeURIComponent(since)}`), { authorization: `Bearer ${bob.adminKey}` });
      try {
        await sse.waitUntil(() => sse.named('audit').length >= 30);
        assert.equal(sse.events[0]!.event, 'connected');
        const second = events(bob.id, 120);
        for (let i = 0; i < second.length; i += 20) await sink.append(second.slice(i, i + 20));
        // Changes through the first api process show up too.
        await b.post('/api/v1/sdk/agents', { name: 'streamed' });
        await sse.waitUntil(() => sse.named('audit').length >= 151 && sse.named('audit').some((e) => e.data.action_type === 'agent_created'));
        const audit = sse.named('audit');
        const ids = audit.map((e) => e.data.event_id);
        // The stream is exactly the chain since `since` (several recorders may commit
        // concurrent batches in either order; the chain order is the commit order).
        const chain = await b.get(`${AUDIT}?from=${encodeURIComponent(since)}&limit=1000`);
        await sse.waitUntil(() => sse.named('audit').length >= chain.body.events.length);
        assert.deepEqual(sse.named('audit').map((e) => e.data.event_id), chain.body.events.map((e: { event_id: string }) => e.event_id));
        const appended = [...first, ...second].map((e) => e.event_id);
        assert.deepEqual(ids.filter((id) => appended.includes(id)), appended);
        assert.ok(audit.some((e) => e.data.action_type === 'agent_created'));
        const sequences = audit.map((e) => e.data.sequence);
        sequences.forEach((s, i) => i > 0 && assert.equal(s, sequences[i - 1] + 1));
        assert.ok(audit.every((e) => e.id === String(e.data.id)));
        assert.equal(new Set(ids).size, ids.length);
      } finally {
        sse.close();
      }
    });

    it('resumes after Last-Event-ID and honours execution and agent filters', async () => {
      const mine = events(bob.id, 4, { executionId: 4242, agentId: 9 });
      const start = await chainLength(bob.id);
      await sink.append([...mine.slice(0, 2), ...events(bob.id, 3)]);
      await waitForRecords(bob.id, start + 5);
      const [firstMine] = await system.db.query('SELECT id FROM audit_records WHERE event_id = $1', [mine[0]!.event_id]);
      const sse = new SseClient(streamUrl(api, '?executionId=4242'), { authorization: `Bearer ${bob.adminKey}`, 'last-event-id': String(firstMine.id) });
      const byAgent = new SseClient(streamUrl(api2, '?agentId=9'), { authorization: `Bearer ${bob.adminKey}` });
      try {
        await sse.waitUntil(() => sse.named('audit').length >= 1);
        await byAgent.waitUntil(() => byAgent.named('connected').length === 1);
        await sink.append([...events(bob.id, 2), ...mine.slice(2)]);
        await sse.waitUntil(() => sse.named('audit').length >= 3);
        await byAgent.waitUntil(() => byAgent.named('audit').length >= 2);
        await new Promise((r) => setTimeout(r, 300));
        assert.deepEqual(sse.named('audit').map((e) => e.data.event_id), mine.slice(1).map((e) => e.event_id));
        assert.deepEqual(byAgent.named('audit').map((e) => e.data.event_id), mine.slice(2).map((e) => e.event_id));
      } finally {
        sse.close();
        byAgent.close();
      }
    });

    it('sends keepalives and a timeout event at the maximum age, then closes', async () => {
      const sse = new SseClient(streamUrl(api), { authorization: `Bearer ${alice.adminKey}` });
      await sse.waitUntil(() => sse.named('keepalive').length >= 2);
      await sse.waitUntil(() => sse.ended, 15_000);
      assert.equal(sse.events.at(-1)!.event, 'timeout');
    });

    it('answers 401, 403 and 400 as JSON before streaming', async () => {
      const cases: [Record<string, string>, string, number][] = [
        [{}, '', 401],
        [{ authorization: `Bearer ${await system.createKey(bob.id, ['agents:read'])}` }, '', 403],
        [{ authorization: `Bearer ${bob.adminKey}` }, '?executionId=abc', 400],
        [{ authorization: `Bearer ${bob.adminKey}` }, '?since=notatime', 400],
        [{ authorization: `Bearer ${bob.adminKey}`, 'last-event-id': 'x' }, '', 400],
      ];
      for (const [headers, query, status] of cases) {
        const res = await fetch(streamUrl(api, query), { headers });
        assert.equal(res.status, status, query);
        assert.match(res.headers.get('content-type') ?? '', /application\/json/);
        await res.text();
      }
    });
  });
});

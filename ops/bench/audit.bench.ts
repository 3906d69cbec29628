// Audit trail benchmarks:
// - recorder throughput: events/s from the Redis stream to committed, hash-chained rows,
//   next to a plain (unchained) multi-row INSERT of the same rows into a table with the
//   same columns and indexes, in the same run. Goal: >= 25,000/s and >= 0.6 of plain.
// - SSE fan-out: 1,000 concurrent subscribers on one api process, delivery latency from
//   a record's commit to its arrival at each subscriber. Goal: p99 <= 100 ms.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { auditEvent } from '../../shared/audit/audit-event.ts';
import { RedisAuditSink } from '../../shared/audit/audit-sink.ts';
import { createLogger } from '../../shared/logger.ts';
import { connectRedis } from '../../shared/redis/connection.ts';
import { redisKeys } from '../../shared/redis/keys.ts';
import { AuditRecorder } from '../../scheduler/recorder/audit-recorder.ts';
import { SseClient } from '../../test/helpers/sse-client.ts';
import { TEST_REDIS_URL } from '../../test/helpers/test-redis.ts';
import { TestSystem } from '../../test/helpers/test-system.ts';
import { waitFor } from '../../test/helpers/wait-for.ts';
import { percentile, round, type Benchmark, type BenchRow } from './benchmark.ts';

const SSE_ROUNDS = 20;

function makeEvents(accountIds: number[], n: number) {
  return Array.from({ length: n }, (_, i) =>
    auditEvent({
      accountId: accountIds[i % accountIds.length]!,
      agentId: 1 + (i % 50),
      executionId: 1 + Math.floor(i / 10),
      actor: 'node:bench-node',
      actionType: 'api_call',
      description: `http_request GET https://api.example.com/items/${i}`,
      inputSummary: JSON.stringify({ url: `https://api.example.com/items/${i}`, method: 'GET' }),
      outputSummary: JSON.stringify({ status: 200, bytes: 512 }),
      permissionState: { scopes: ['network:outbound', 'data:read'], config: { allow_network: true } },
    }),
  );
}

async function recorderThroughput(system: TestSystem, accountIds: number[], EVENTS: number): Promise<BenchRow[]> {
  const keys = redisKeys(system.redisPrefix);
  const redis = connectRedis(TEST_REDIS_URL, 'bench');
  const reader = connectRedis(TEST_REDIS_URL, 'bench-reader');
  try {
    const events = makeEvents(accountIds, EVENTS);
    // Reference: the same rows, plain multi-row INSERTs of 1,000 into the same partitioned
    // table with the same indexes, with no chain, no dedupe and no stream (under an account
    // of its own, so the measured chains stay intact).
    const plainAccount = await system.createAccount('bench-plain');
    const plainStart = process.hrtime.bigint();
    for (let i = 0; i < events.length; i += 1000) {
      const slice = events.slice(i, i + 1000);
      await system.db.query(
        `INSERT INTO audit_records (account_id, sequence, recorded_at, event_id, agent_id, execution_id, actor, action_type,
            action_category, description, input_summary, output_summary, permission_state, is_violation, prev_hash, hash)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::text[], $5::bigint[], $6::bigint[], $7::text[],
            $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[], $14::boolean[], $15::text[], $16::text[])`,
        [
          slice.map(() => plainAccount.id), slice.map((_, j) => i + j + 1), slice.map(() => new Date()), slice.map(() => randomUUID()),
          slice.map((e) => e.agent_id), slice.map((e) => e.execution_id), slice.map((e) => e.actor), slice.map((e) => e.action_type),
          slice.map(() => 'host_call'), slice.map((e) => e.description), slice.map((e) => e.input_summary), slice.map((e) => e.output_summary),
          slice.map((e) => JSON.stringify(e.permission_state)), slice.map((e) => e.is_violation), slice.map(() => '0'.repeat(64)), slice.map(() => 'f'.repeat(64)),
        ],
      );
    }
    const plainSeconds = Number(process.hrtime.bigint() - plainStart) / 1e9;
    const plainRate = EVENTS / plainSeconds;

    // Ours: the stream is filled first, then a recorder drains it into the chain.
    const sink = new RedisAuditSink(redis, keys);
    for (let i = 0; i < events.length; i += 5000) await sink.append(events.slice(i, i + 5000));
    const log = createLogger({ logLevel: 'warn' });
    const recorder = new AuditRecorder({ db: system.db, redis, reader, keys, log, options: { batchSize: 5000 } });
    const start = process.hrtime.bigint();
    await recorder.start();
    await waitFor(
      async () => Number((await system.db.query(`SELECT coalesce(sum(last_sequence), 0)::bigint AS n FROM audit_chain_heads`))[0].n),
      (n) => n >= EVENTS + (accountIds.length + 1) * 2,
      { timeoutMs: 300_000, intervalMs: 20, what: 'the recorder to commit every event' },
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    await recorder.close();
    const rate = EVENTS / seconds;
    const ratio = rate / plainRate;
    const reference = `plain 1,000-row INSERT ${round(plainRate, 0)} rows/s`;
    return [
      { name: `recorder, stream -> chained rows (${EVENTS} events)`, value: round(rate, 0), unit: 'events/s', reference, goal: '>= 25,000/s', met: rate >= 25_000 },
      { name: 'recorder share of plain insert', value: round(ratio, 2), unit: 'x', reference, goal: '>= 0.6', met: ratio >= 0.6 },
    ];
  } finally {
    redis.disconnect();
    reader.disconnect();
  }
}

async function sseFanout(system: TestSystem, accountId: number, key: string, SUBSCRIBERS: number): Promise<BenchRow[]> {
  const api = await system.startApi();
  await system.startScheduler();
  const redis = new Redis(TEST_REDIS_URL);
  const sink = new RedisAuditSink(redis, redisKeys(system.redisPrefix));
  const latencies: number[] = [];
  const clients: SseClient[] = [];
  let connected = 0;
  try {
    for (let i = 0; i < SUBSCRIBERS; i++) {
      clients.push(
        new SseClient(`${api.baseUrl}/api/sdk/audit/stream`, { authorization: `Bearer ${key}` }, (event, receivedAt) => {
          if (event.event === 'connected') connected++;
          if (event.event === 'audit') latencies.push(receivedAt - Date.parse(event.data.recorded_at));
        }),
      );
    }
    await waitFor(async () => connected, (n) => n >= SUBSCRIBERS, { timeoutMs: 60_000, what: 'every subscriber to connect' });
    for (let round = 0; round < SSE_ROUNDS; round++) {
      await sink.append(makeEvents([accountId], 1));
      await new Promise((r) => setTimeout(r, 150));
    }
    await waitFor(async () => latencies.length, (n) => n >= SUBSCRIBERS * SSE_ROUNDS, { timeoutMs: 30_000, what: 'every delivery' });
  } finally {
    for (const c of clients) c.close();
    redis.disconnect();
  }
  const p99 = percentile(latencies, 99);
  const reference = `${SUBSCRIBERS} subscribers x ${SSE_ROUNDS} records, p50 ${percentile(latencies, 50)} ms`;
  return [{ name: 'SSE fan-out, commit -> subscriber p99', value: p99, unit: 'ms', reference, goal: '<= 100 ms', met: p99 <= 100 }];
}

const benchmark: Benchmark = {
  name: 'audit',
  description: 'recorder throughput (BENCH_AUDIT_EVENTS) and SSE fan-out (BENCH_SSE_SUBSCRIBERS)',
  async run(settings) {
    const system = await TestSystem.create('bench_audit');
    try {
      const accounts = await Promise.all(['a', 'b', 'c', 'd'].map((n) => system.createAccount(`bench-${n}`)));
      const rows = await recorderThroughput(system, accounts.map((a) => a.id), settings.auditEvents);
      rows.push(...(await sseFanout(system, accounts[0]!.id, accounts[0]!.adminKey, settings.sseSubscribers)));
      return rows;
    } finally {
      await system.stop();
    }
  },
};

export default benchmark;

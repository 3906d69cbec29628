// Consumes the intake queue: refuses executions of halted or disabled agents and halted
// accounts, takes a rate-limit slot (swarm per hour, account per minute, agent
// concurrency) atomically per execution, and routes each execution, with everything an
// executor node needs to run it, to its pool's queue. Works a batch at a time.
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Config } from '../../shared/config.ts';
import type { AgentConfig } from '../../shared/sandbox-templates.ts';
import { SANDBOX_TEMPLATES } from '../../shared/sandbox-templates.ts';
import type { AgentScope } from '../../shared/permissions/agent-scopes.ts';
import type { ExecutionStore } from '../../shared/db/stores/execution-store.ts';
import { EXEC_POOLS, execJobSchema, MAX_CONTEXT_SNAPSHOT_BYTES, QUEUES, type ExecJob, type ExecPool } from '../../shared/execution/protocol.ts';
import { executionJobId, intakeJobSchema, startQueueConsumer, type IntakeJob } from '../../shared/execution/queues.ts';
import { effectiveLimits, slotDecision, type EffectiveLimits, type SlotDecision } from '../../shared/execution/rate-limits.ts';
import type { Logger } from '../../shared/logger.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import { scriptPipeline } from '../../shared/redis/scripts/index.ts';
import { preparedStatement, queryPrepared } from '../../shared/db/prepared-statement.ts';
import type { Closable } from '../../shared/process/lifecycle.ts';
import type { Ending, ExecutionFinisher } from '../execution-finisher.ts';

/** Slots expire on their own after the run's time limit plus this, should a release be lost. */
const SLOT_GRACE_MS = 5 * 60 * 1000;

interface DispatchRow {
  id: number;
  status: string;
  awaited: boolean;
  input: unknown;
  account_id: number;
  account_halted: boolean;
  account_halt_reason: string | null;
  agent_id: number;
  agent_name: string;
  agent_version: string;
  entry_code: string;
  config: AgentConfig;
  permissions: AgentScope[];
  swarm: string | null;
  agent_status: string;
  agent_halt_reason: string | null;
  /** The account's rate_limits row ('' swarm) and the swarm's, when set. */
  account_per_hour: number | null;
  account_per_minute: number | null;
  account_concurrency: number | null;
  swarm_per_hour: number | null;
}

/** Everything dispatching needs, for the executions of an intake job still queued. */
const DISPATCH_READ = preparedStatement(
  'intake-dispatch-read',
  `SELECT e.id::float8 AS id, e.status, e.awaited, e.input, e.account_id::float8 AS account_id, acc.halted AS account_halted,
          acc.halt_reason AS account_halt_reason, a.id::float8 AS agent_id, a.name AS agent_name, a.version AS agent_version,
          a.entry_code, a.config, a.permissions, a.swarm, a.status AS agent_status, a.halt_reason AS agent_halt_reason,
          al.executions_per_hour AS account_per_hour, al.executions_per_minute AS account_per_minute,
          al.concurrency AS account_concurrency, sl.executions_per_hour AS swarm_per_hour
     FROM executions e JOIN agents a ON a.id = e.agent_id JOIN accounts acc ON acc.id = e.account_id
     LEFT JOIN rate_limits al ON al.account_id = e.account_id AND al.swarm = ''
     LEFT JOIN rate_limits sl ON sl.account_id = e.account_id AND sl.swarm = a.swarm
    WHERE e.id = ANY($1::bigint[]) AND e.status = 'queued'
    ORDER BY e.id`,
);

const CONTEXT_READ = preparedStatement(
  'intake-context-read',
  `SELECT agent_id::float8 AS agent_id, key, value FROM agent_context WHERE agent_id = ANY($1::bigint[]) ORDER BY agent_id, key`,
);

export interface IntakeDeps {
  readonly config: Config;
  readonly db: DataSource;
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly executions: ExecutionStore;
  readonly finisher: ExecutionFinisher;
  readonly execQueues: Readonly<Record<ExecPool, Queue>>;
  readonly log: Logger;
}

/** Intake jobs handled at once; each may carry many executions. */
const INTAKE_CONCURRENCY = 8;

export function startIntakeConsumer(deps: IntakeDeps): Closable {
  return startQueueConsumer<IntakeJob>(deps.config, { name: 'intake', queue: QUEUES.intake, concurrency: INTAKE_CONCURRENCY, log: deps.log }, (job) =>
    dispatchBatch(deps, job),
  );
}

/**
 * Dispatches one intake job's executions: one read of them all (with their agents,
 * accounts and limits), refusals ended in one write, one Redis round trip for every rate
 * limit slot, one context read per distinct agent, one write marking the rest dispatched,
 * and one bulk add to the pool queues. Executions no longer queued are skipped
 * (redelivered or swept twice), so running a job again changes nothing.
 */
async function dispatchBatch(deps: IntakeDeps, job: Job<IntakeJob>): Promise<void> {
  const { executionIds } = intakeJobSchema.parse(job.data);
  const rows = await queryPrepared<DispatchRow>(deps.db, DISPATCH_READ, [executionIds]);
  if (rows.length === 0) return;

  const refusals: Ending[] = [];
  const candidates: DispatchRow[] = [];
  for (const row of rows) {
    const refusal = refusalOf(row);
    if (refusal) {
      refusals.push({
        executionId: row.id,
        fields: { status: 'halted', error: refusal },
        audits: [{ actionType: 'halt', description: `execution ${row.id} not run: ${refusal.message}`, isViolation: true }],
      });
    } else candidates.push(row);
  }

  const [decisions, contexts] = await Promise.all([
    acquireSlots(deps, candidates),
    contextSnapshots(deps.db, [...new Set(candidates.map((r) => r.agent_id))]),
    deps.finisher.finishMany(refusals),
  ]);
  const limited: Ending[] = [];
  const granted: { row: DispatchRow; pool: ExecPool }[] = [];
  candidates.forEach((row, i) => {
    const decision = decisions[i]!;
    if (decision.granted) {
      granted.push({ row, pool: SANDBOX_TEMPLATES[row.config.sandbox_template].requires_attestation ? 'tee' : 'standard' });
      return;
    }
    limited.push({
      executionId: row.id,
      fields: { status: 'rate_limited', error: { code: decision.code, message: decision.message } },
      audits: [{ actionType: 'rate_limit_hit', description: `execution ${row.id} refused: ${decision.message}`, isViolation: true }],
    });
  });

  // The jobs go out before their executions are marked dispatched, so the mark is not on
  // the way to the run. A crash in between leaves them queued with a job: the sweeper's
  // second dispatch then adds nothing (same job id) and the slot is already theirs. The
  // mark only moves executions still queued, so one the node already reported is not
  // set back.
  const dispatchedAt = new Date().toISOString();
  await Promise.all([
    ...EXEC_POOLS.map(async (pool) => {
      const jobs = granted
        .filter((g) => g.pool === pool)
        .map(({ row }) => ({ name: 'execute', data: execJobOf(row, contexts.get(row.agent_id) ?? {}, dispatchedAt), opts: { jobId: executionJobId(row.id) } }));
      if (jobs.length > 0) await deps.execQueues[pool].addBulk(jobs);
    }),
    deps.finisher.finishMany(limited),
  ]);
  await deps.executions.markDispatchedMany(granted.map(({ row, pool }) => ({ id: row.id, pool })));
  if (refusals.length + limited.length > 0) deps.log.info({ refused: refusals.length, rateLimited: limited.length }, 'executions not run');
  deps.log.debug({ dispatched: granted.length }, 'executions dispatched');
}

function refusalOf(row: DispatchRow): { code: string; message: string } | null {
  if (row.account_halted) return { code: 'account_halted', message: `account halted: ${row.account_halt_reason ?? 'no reason given'}` };
  if (row.agent_status === 'halted') return { code: 'agent_halted', message: `agent halted: ${row.agent_halt_reason ?? 'no reason given'}` };
  if (row.agent_status !== 'ready') return { code: 'agent_disabled', message: `agent is ${row.agent_status}, not ready` };
  return null;
}

function limitsOf(row: DispatchRow): EffectiveLimits {
  return effectiveLimits(row.swarm, { executions_per_hour: row.account_per_hour, executions_per_minute: row.account_per_minute, concurrency: row.account_concurrency }, row.swarm_per_hour);
}

/** Every slot in one pipelined round trip; each script call is atomic on its own. */
async function acquireSlots(deps: IntakeDeps, rows: readonly DispatchRow[]): Promise<SlotDecision[]> {
  if (rows.length === 0) return [];
  const { pipeline, add } = scriptPipeline(deps.redis);
  const now = Date.now();
  const limits = rows.map(limitsOf);
  rows.forEach((row, i) => {
    const { swarmExecutionsPerHour, accountExecutionsPerMinute, agentConcurrency } = limits[i]!;
    add(
      'acquire-execution-slot-3',
      [
        deps.keys.swarmWindowKey(row.account_id, row.swarm ?? '-'),
        deps.keys.accountWindowKey(row.account_id),
        deps.keys.agentRunningKey(row.account_id, row.agent_id),
      ],
      [now, String(row.id), swarmExecutionsPerHour ?? -1, 3_600_000, accountExecutionsPerMinute, 60_000, agentConcurrency, row.config.cpu_time_limit_ms + SLOT_GRACE_MS],
    );
  });
  const replies = (await pipeline.exec()) ?? [];
  return rows.map((row, i) => {
    const [err, reply] = replies[i] ?? [new Error('no reply'), null];
    if (err) throw err;
    return slotDecision(Number(reply), limits[i]!, row.swarm);
  });
}

function execJobOf(row: DispatchRow, context: Record<string, unknown>, dispatchedAt: string): ExecJob {
  return execJobSchema.parse({
    executionId: row.id,
    accountId: row.account_id,
    agent: {
      id: row.agent_id,
      name: row.agent_name,
      version: row.agent_version,
      entryCode: row.entry_code,
      config: row.config,
      permissions: row.permissions,
      swarm: row.swarm,
    },
    input: row.input,
    context,
    dispatchedAt,
    awaited: row.awaited,
  });
}

/** Each agent's context store as it is now, up to MAX_CONTEXT_SNAPSHOT_BYTES (keys in order). */
async function contextSnapshots(db: DataSource, agentIds: readonly number[]): Promise<Map<number, Record<string, unknown>>> {
  const snapshots = new Map<number, Record<string, unknown>>();
  if (agentIds.length === 0) return snapshots;
  const rows = await queryPrepared<{ agent_id: number; key: string; value: unknown }>(db, CONTEXT_READ, [agentIds]);
  const bytes = new Map<number, number>();
  for (const row of rows) {
    const used = (bytes.get(row.agent_id) ?? 0) + Buffer.byteLength(JSON.stringify(row.value)) + row.key.length;
    bytes.set(row.agent_id, used);
    if (used > MAX_CONTEXT_SNAPSHOT_BYTES) continue;
    const snapshot = snapshots.get(row.agent_id) ?? {};
    snapshot[row.key] = row.value;
    snapshots.set(row.agent_id, snapshot);
  }
  return snapshots;
}

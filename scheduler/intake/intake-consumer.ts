// Consumes the intake queue: refuses executions of halted or disabled agents and halted
// accounts, takes a rate-limit slot (swarm per hour, account per minute, agent
// concurrency) atomically per execution, and routes each execution, with everything an
// executor node needs to run it, to its pool's queue. Works a batch at a time.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Config } from '../../shared/config.ts';
import type { AgentConfig } from '../../shared/sandbox-templates.ts';
import { SANDBOX_TEMPLATES } from '../../shared/sandbox-templates.ts';
import type { AgentScope } from '../../shared/permissions/agent-scopes.ts';
import type { ExecutionStore } from '../../shared/db/stores/execution-store.ts';
import { EXEC_POOLS, execJobSchema, MAX_CONTEXT_SNAPSHOT_BYTES, QUEUES, type ExecJob, type ExecPool } from '../../shared/execution/protocol.ts';
import { bullConnection, executionJobId, intakeJobSchema, startQueueConsumer, type IntakeJob } from '../../shared/execution/queues.ts';
import { effectiveLimits } from '../../shared/execution/rate-limits.ts';
import type { Logger } from '../../shared/logger.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import { preparedStatement, queryPrepared } from '../../shared/db/prepared-statement.ts';
import type { Closable } from '../../shared/process/lifecycle.ts';
import type { Ending, ExecutionFinisher } from '../execution-finisher.ts';
import { DispatchMarks } from './dispatch-marks.ts';
import { acquireExecutionSlots, type SlotRequest } from './execution-slots.ts';
import { startIntakeFastLane } from './intake-fast-lane.ts';

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
  /** The agent's context snapshot, on the agent's first row only (null elsewhere, and when it has none). */
  context: Record<string, unknown> | null;
}

/**
 * Everything dispatching needs, for the executions of an intake job still queued, with
 * each agent's context store as it is now (keys in order, up to MAX_CONTEXT_SNAPSHOT_BYTES
 * of JSON text): one round trip. The context comes once per agent, on its first execution,
 * so a batch of one agent's executions does not carry its context once per row.
 */
const DISPATCH_READ = preparedStatement(
  'intake-dispatch-read',
  `WITH by_id AS MATERIALIZED (
     -- By primary key first: planned with the status filter, the lookup went through the
     -- agent's queued executions, all of them under a backlog.
     SELECT * FROM executions WHERE id = ANY($1::bigint[])
   ), queued AS (
     SELECT e.id, e.status, e.awaited, e.input, e.account_id, acc.halted AS account_halted,
            acc.halt_reason AS account_halt_reason, a.id AS agent_id, a.name AS agent_name, a.version AS agent_version,
            a.entry_code, a.config, a.permissions, a.swarm, a.status AS agent_status, a.halt_reason AS agent_halt_reason,
            al.executions_per_hour AS account_per_hour, al.executions_per_minute AS account_per_minute,
            al.concurrency AS account_concurrency, sl.executions_per_hour AS swarm_per_hour
       FROM by_id e JOIN agents a ON a.id = e.agent_id JOIN accounts acc ON acc.id = e.account_id
       LEFT JOIN rate_limits al ON al.account_id = e.account_id AND al.swarm = ''
       LEFT JOIN rate_limits sl ON sl.account_id = e.account_id AND sl.swarm = a.swarm
      WHERE e.status = 'queued'
   ), contexts AS (
     SELECT agent_id, jsonb_object_agg(key, value) AS context
       FROM (SELECT c.agent_id, c.key, c.value,
                    sum(octet_length(c.value::text) + octet_length(c.key)) OVER (PARTITION BY c.agent_id ORDER BY c.key) AS used
               FROM agent_context c WHERE c.agent_id IN (SELECT agent_id FROM queued)) sized
      WHERE used <= $2
      GROUP BY agent_id
   )
   SELECT q.id::float8 AS id, q.status, q.awaited, q.input, q.account_id::float8 AS account_id, q.account_halted,
          q.account_halt_reason, q.agent_id::float8 AS agent_id, q.agent_name, q.agent_version, q.entry_code, q.config,
          q.permissions, q.swarm, q.agent_status, q.agent_halt_reason, q.account_per_hour, q.account_per_minute,
          q.account_concurrency, q.swarm_per_hour,
          CASE WHEN row_number() OVER (PARTITION BY q.agent_id ORDER BY q.id) = 1 THEN c.context END AS context
     FROM queued q LEFT JOIN contexts c ON c.agent_id = q.agent_id
    ORDER BY q.id`,
);

export interface IntakeDeps {
  readonly config: Config;
  readonly db: DataSource;
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly executions: ExecutionStore;
  readonly finisher: ExecutionFinisher;
  readonly execQueues: Readonly<Record<ExecPool, Queue>>;
  /** Where a fast-lane batch whose dispatch failed is queued for retries. */
  readonly intake: Queue<IntakeJob>;
  readonly log: Logger;
}

/** Intake jobs (and fast-lane batches) handled at once; each may carry many executions. */
const INTAKE_CONCURRENCY = 8;

/** Consumes both ways in: the intake queue and its fast lane (intake-fast-lane.ts). */
export function startIntakeConsumer(deps: IntakeDeps): Closable {
  const marks = new DispatchMarks(deps.executions, (id) => deps.finisher.hasEnded(id), deps.log);
  const consumer = startQueueConsumer<IntakeJob>(deps.config, { name: 'intake', queue: QUEUES.intake, concurrency: INTAKE_CONCURRENCY, log: deps.log }, (job) =>
    dispatchBatch(deps, marks, intakeJobSchema.parse(job.data).executionIds),
  );
  const fastLane = startIntakeFastLane({
    connection: bullConnection(deps.config, 'scheduler-intake-fast-lane'),
    key: deps.keys.intakeFastLane,
    concurrency: INTAKE_CONCURRENCY,
    dispatch: (executionIds) => dispatchBatch(deps, marks, executionIds),
    retryLater: async (executionIds) => void (await deps.intake.add('intake', { executionIds })),
    log: deps.log,
  });
  return {
    name: consumer.name,
    async close() {
      await Promise.all([consumer.close(), fastLane.close()]);
      await marks.flush();
    },
  };
}

/**
 * Dispatches one intake batch's executions: one read of them all (with their agents,
 * accounts, limits and context stores), refusals ended in one write, one Redis round trip
 * for every rate limit slot, the rest marked dispatched shortly after (DispatchMarks),
 * and one bulk add to the pool queues. Executions no longer queued are skipped
 * (redelivered or swept twice), so running a job again changes nothing.
 */
async function dispatchBatch(deps: IntakeDeps, marks: DispatchMarks, executionIds: readonly number[]): Promise<void> {
  const rows = await queryPrepared<DispatchRow>(deps.db, DISPATCH_READ, [executionIds, MAX_CONTEXT_SNAPSHOT_BYTES]);
  if (rows.length === 0) return;
  const contexts = new Map<number, Record<string, unknown>>();
  for (const row of rows) if (row.context) contexts.set(row.agent_id, row.context);

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

  const [decisions] = await Promise.all([acquireExecutionSlots(deps.redis, deps.keys, candidates.map(slotRequestOf)), deps.finisher.finishMany(refusals)]);
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
  // the way to the run; the mark itself is written shortly after, in batches, and not at
  // all for executions that ended meanwhile (dispatch-marks.ts). A crash in between leaves
  // them queued with a job: the sweeper's second dispatch then adds nothing (same job id)
  // and the slot is already theirs. The mark only moves executions still queued, so one
  // the node already reported is not set back.
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
  marks.add(granted.map(({ row, pool }) => ({ id: row.id, pool })));
  if (refusals.length + limited.length > 0) deps.log.info({ refused: refusals.length, rateLimited: limited.length }, 'executions not run');
  deps.log.debug({ dispatched: granted.length }, 'executions dispatched');
}

function refusalOf(row: DispatchRow): { code: string; message: string } | null {
  if (row.account_halted) return { code: 'account_halted', message: `account halted: ${row.account_halt_reason ?? 'no reason given'}` };
  if (row.agent_status === 'halted') return { code: 'agent_halted', message: `agent halted: ${row.agent_halt_reason ?? 'no reason given'}` };
  if (row.agent_status !== 'ready') return { code: 'agent_disabled', message: `agent is ${row.agent_status}, not ready` };
  return null;
}

function slotRequestOf(row: DispatchRow): SlotRequest {
  return {
    executionId: row.id,
    accountId: row.account_id,
    agentId: row.agent_id,
    swarm: row.swarm,
    limits: effectiveLimits(row.swarm, { executions_per_hour: row.account_per_hour, executions_per_minute: row.account_per_minute, concurrency: row.account_concurrency }, row.swarm_per_hour),
    timeLimitMs: row.config.cpu_time_limit_ms,
  };
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

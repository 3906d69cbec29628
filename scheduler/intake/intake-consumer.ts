// Consumes the intake queue: refuses executions of halted or disabled agents and halted
// accounts, takes a rate-limit slot (swarm per hour, account per minute, agent
// concurrency) atomically, and routes the execution, with everything an executor node
// needs to run it, to its pool's queue.
import { Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Config } from '../../shared/config.ts';
import type { AgentConfig } from '../../shared/sandbox-templates.ts';
import { SANDBOX_TEMPLATES } from '../../shared/sandbox-templates.ts';
import type { AgentScope } from '../../shared/permissions/agent-scopes.ts';
import type { RateLimitStore } from '../../shared/db/stores/rate-limit-store.ts';
import type { ExecutionStore } from '../../shared/db/stores/execution-store.ts';
import { execJobSchema, MAX_CONTEXT_SNAPSHOT_BYTES, QUEUES, type ExecJob, type ExecPool } from '../../shared/execution/protocol.ts';
import { bullConnection, executionJobId, intakeJobSchema, queueOptions, type IntakeJob } from '../../shared/execution/queues.ts';
import { slotDecision } from '../../shared/execution/rate-limits.ts';
import type { Logger } from '../../shared/logger.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import { scripts } from '../../shared/redis/scripts/index.ts';
import type { Closable } from '../../shared/process/lifecycle.ts';
import type { ExecutionFinisher } from '../execution-finisher.ts';

/** Slots expire on their own after the run's time limit plus this, should a release be lost. */
const SLOT_GRACE_MS = 5 * 60 * 1000;

interface DispatchRow {
  id: number;
  status: string;
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
}

export interface IntakeDeps {
  readonly config: Config;
  readonly db: DataSource;
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly executions: ExecutionStore;
  readonly limits: RateLimitStore;
  readonly finisher: ExecutionFinisher;
  readonly execQueues: Readonly<Record<ExecPool, Queue>>;
  readonly log: Logger;
}

export function startIntakeConsumer(deps: IntakeDeps): Closable {
  const connection = bullConnection(deps.config, 'scheduler-intake');
  const worker = new Worker<IntakeJob>(QUEUES.intake, (job) => dispatch(deps, job), {
    ...queueOptions(deps.config, connection),
    concurrency: 32,
  });
  worker.on('failed', (job, err) => deps.log.error({ err, jobId: job?.id }, 'intake job failed'));
  return {
    name: 'intake-consumer',
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}

async function dispatch(deps: IntakeDeps, job: Job<IntakeJob>): Promise<void> {
  const { executionId } = intakeJobSchema.parse(job.data);
  const [row] = (await deps.db.query(
    `SELECT e.id::float8 AS id, e.status, e.input, e.account_id::float8 AS account_id, acc.halted AS account_halted,
            acc.halt_reason AS account_halt_reason, a.id::float8 AS agent_id, a.name AS agent_name, a.version AS agent_version,
            a.entry_code, a.config, a.permissions, a.swarm, a.status AS agent_status, a.halt_reason AS agent_halt_reason
       FROM executions e JOIN agents a ON a.id = e.agent_id JOIN accounts acc ON acc.id = e.account_id
      WHERE e.id = $1`,
    [executionId],
  )) as DispatchRow[];
  if (!row || row.status !== 'queued') return; // deleted, or already handled (redelivery)
  const log = deps.log.child({ executionId, agentId: row.agent_id, accountId: row.account_id });

  const refusal = row.account_halted
    ? { code: 'account_halted', message: `account halted: ${row.account_halt_reason ?? 'no reason given'}` }
    : row.agent_status === 'halted'
      ? { code: 'agent_halted', message: `agent halted: ${row.agent_halt_reason ?? 'no reason given'}` }
      : row.agent_status !== 'ready'
        ? { code: 'agent_disabled', message: `agent is ${row.agent_status}, not ready` }
        : null;
  if (refusal) {
    await deps.finisher.finish(executionId, { status: 'halted', error: refusal }, [
      { actionType: 'halt', description: `execution ${executionId} not run: ${refusal.message}`, isViolation: true },
    ]);
    log.info({ code: refusal.code }, 'execution refused');
    return;
  }

  const limits = await deps.limits.effective(row.account_id, row.swarm);
  const reply = Number(
    await scripts(deps.redis)(
      'acquire-execution-slot-3',
      [
        deps.keys.swarmWindowKey(row.account_id, row.swarm ?? '-'),
        deps.keys.accountWindowKey(row.account_id),
        deps.keys.agentRunningKey(row.account_id, row.agent_id),
      ],
      [
        Date.now(),
        String(executionId),
        limits.swarmExecutionsPerHour ?? -1,
        3_600_000,
        limits.accountExecutionsPerMinute,
        60_000,
        limits.agentConcurrency,
        row.config.cpu_time_limit_ms + SLOT_GRACE_MS,
      ],
    ),
  );
  const decision = slotDecision(reply, limits, row.swarm);
  if (!decision.granted) {
    await deps.finisher.finish(executionId, { status: 'rate_limited', error: { code: decision.code, message: decision.message } }, [
      { actionType: 'rate_limit_hit', description: `execution ${executionId} refused: ${decision.message}`, isViolation: true },
    ]);
    log.warn({ code: decision.code }, 'execution rate limited');
    return;
  }

  const context = await contextSnapshot(deps.db, row.agent_id);
  const pool: ExecPool = SANDBOX_TEMPLATES[row.config.sandbox_template].requires_attestation ? 'tee' : 'standard';
  const data: ExecJob = execJobSchema.parse({
    executionId,
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
    dispatchedAt: new Date().toISOString(),
  });
  // Dispatched is recorded first: a crash between the two leaves a 'dispatched' execution
  // without a job, which the sweeper ends as node_lost rather than leaving it stuck.
  if (!(await deps.executions.markDispatched(executionId, pool))) return;
  await deps.execQueues[pool].add('execute', data, { jobId: executionJobId(executionId) });
  log.debug({ pool }, 'execution dispatched');
}

/** The agent's context store as it is now, up to MAX_CONTEXT_SNAPSHOT_BYTES. */
async function contextSnapshot(db: DataSource, agentId: number): Promise<Record<string, unknown>> {
  const rows = (await db.query(`SELECT key, value FROM agent_context WHERE agent_id = $1 ORDER BY key`, [agentId])) as { key: string; value: unknown }[];
  const snapshot: Record<string, unknown> = {};
  let bytes = 0;
  for (const row of rows) {
    bytes += Buffer.byteLength(JSON.stringify(row.value)) + row.key.length;
    if (bytes > MAX_CONTEXT_SNAPSHOT_BYTES) break;
    snapshot[row.key] = row.value;
  }
  return snapshot;
}

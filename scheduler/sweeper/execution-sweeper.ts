// Makes sure no execution stays pending forever:
// - queued ones whose intake job was never enqueued (the api died between its commit and
//   the enqueue, or Redis lost the queue) are enqueued again. Intake is first in, first
//   out, so only executions queued before the oldest intake job still waiting can have
//   lost theirs: those behind a backlog are left alone. A second dispatch of one that was
//   not lost after all changes nothing (dispatch takes only executions still queued);
// - dispatched or running ones whose job failed (a node died twice: BullMQ retried once on
//   another node, then gave up) or vanished (Redis lost it) end `node_lost`.
// A vanished job is only declared lost when two sweeps in a row miss it, so a job being
// added right now is not mistaken for a lost one, and only when no node report that may
// carry its ending still waits: a completed job also leaves the queue when the queue keeps
// more completed jobs than SCHEDULER_EXEC_JOBS_KEPT, and after a scheduler outage its
// report may sit in the results backlog behind thousands of others. Every action is
// idempotent, so any number of schedulers may sweep at once.
import type { JobType, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ExecutionStore } from '../../shared/db/stores/execution-store.ts';
import type { ExecPool } from '../../shared/execution/protocol.ts';
import { executionJobId, MAX_EXECUTIONS_PER_INTAKE_JOB, type IntakeJob } from '../../shared/execution/queues.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Closable } from '../../shared/process/lifecycle.ts';
import type { Ending, ExecutionFinisher } from '../execution-finisher.ts';

export interface SweeperDeps {
  readonly executions: ExecutionStore;
  readonly finisher: ExecutionFinisher;
  readonly intake: Queue<IntakeJob>;
  readonly execQueues: Readonly<Record<ExecPool, Queue>>;
  /** The nodes' reports: one still waiting may carry the ending of a job no longer kept. */
  readonly results: Queue;
  /** Reads job hashes directly (pipelined), on the scheduler's command connection. */
  readonly redis: Redis;
  readonly intervalMs: number;
  /** Persists node messages read from completed jobs (the results consumer's path). */
  readonly recover: (messages: readonly unknown[]) => Promise<void>;
  readonly log: Logger;
}

const MIN_AGE_MS = 3000;
/** How long after its job completed an execution's report may take to be persisted. */
const REPORT_GRACE_MS = 5000;
/** How far the api's clock (job timestamps) and the database's (queued_at) may disagree. */
const CLOCK_SLACK_MS = 1000;

type JobState = { kind: 'present' } | { kind: 'completed'; finishedOn: number } | { kind: 'failed'; reason: string } | { kind: 'missing' };

/**
 * Whether each job still exists and whether it failed for good, in one pipelined round
 * trip: a job hash with finishedOn and failedReason is a failed job (an exec job has no
 * retries of its own; a stall retry clears neither field until it ends).
 */
async function jobStates(redis: Redis, jobKeys: readonly string[]): Promise<JobState[]> {
  if (jobKeys.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const jobKey of jobKeys) pipeline.hmget(jobKey, 'finishedOn', 'failedReason', 'timestamp');
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([err, reply]): JobState => {
    if (err) throw err;
    const [finishedOn, failedReason, timestamp] = reply as (string | null)[];
    if (timestamp === null) return { kind: 'missing' };
    if (finishedOn !== null && failedReason !== null) return { kind: 'failed', reason: failedReason || 'the job failed' };
    if (finishedOn !== null) return { kind: 'completed', finishedOn: Number(finishedOn) };
    return { kind: 'present' };
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * When the oldest job of `queue` in these states was added, or Infinity when there is none.
 * Reads the jobs' timestamps only: a node report carries up to a thousand endings.
 */
async function oldestAdded(redis: Redis, queue: Queue, states: JobType[]): Promise<number> {
  const ids = await queue.getRanges(states, 0, 0, true);
  if (ids.length === 0) return Number.POSITIVE_INFINITY;
  const replies = (await redis.pipeline(ids.map((id) => ['hget', queue.toKey(id), 'timestamp'])).exec()) ?? [];
  // A job gone between the two reads is no longer waiting.
  return Math.min(...replies.map(([err, value]) => (err || value === null ? Number.POSITIVE_INFINITY : Number(value))));
}

export function startExecutionSweeper(deps: SweeperDeps): Closable {
  /** Executions whose job the last sweep found missing, and when it was first found so. */
  let missing = new Map<number, number>();
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  async function sweep(): Promise<void> {
    const oldestWaiting = await oldestAdded(deps.redis, deps.intake, ['wait', 'prioritized', 'delayed']);
    const cutoff = Number.isFinite(oldestWaiting) ? new Date(oldestWaiting - CLOCK_SLACK_MS) : undefined;
    const lost = await deps.executions.unfinished(['queued'], MIN_AGE_MS, MAX_EXECUTIONS_PER_INTAKE_JOB, cutoff);
    if (lost.length > 0) {
      await deps.intake.add('intake', { executionIds: lost.map((row) => row.id) });
      deps.log.warn({ executions: lost.length }, 'queued executions without an intake job enqueued again');
    }
    const seen = new Map<number, number>();
    const now = Date.now();
    const pending = await deps.executions.unfinished(['dispatched', 'running'], MIN_AGE_MS);
    const queueOf = (row: { pool: string | null }) => deps.execQueues[(row.pool as ExecPool | null) ?? 'standard'] ?? deps.execQueues.standard;
    const states = await jobStates(deps.redis, pending.map((row) => queueOf(row).toKey(executionJobId(row.id))));
    // Asked only when some job is missing a second time, which is rare.
    const missingAgain = pending.some((row, i) => states[i]!.kind === 'missing' && missing.has(row.id));
    const oldestReport = missingAgain ? await oldestAdded(deps.redis, deps.results, ['active', 'wait', 'prioritized', 'delayed']) : Number.POSITIVE_INFINITY;
    const endings: Ending[] = [];
    const unreported: string[] = [];
    pending.forEach((row, i) => {
      const state = states[i]!;
      if (state.kind === 'completed' && Date.now() - state.finishedOn > REPORT_GRACE_MS) unreported.push(queueOf(row).toKey(executionJobId(row.id)));
      let reason: string | null = null;
      if (state.kind === 'failed') reason = state.reason;
      else if (state.kind === 'missing') {
        const since = missing.get(row.id) ?? now;
        seen.set(row.id, since);
        // Its report, if any, was sent before the job left (so before `since`, give or take
        // the clocks): a report that old still waiting may be it.
        if (missing.has(row.id) && oldestReport > since + CLOCK_SLACK_MS) reason = 'the job disappeared from the queue (Redis lost it, or it was removed)';
      }
      if (reason) endings.push({ executionId: row.id, fields: { status: 'node_lost', error: { code: 'node_lost', message: reason } }, audits: [] });
    });
    for (const row of await deps.finisher.finishMany(endings)) {
      deps.log.warn({ executionId: row.id, reason: row.error?.message }, 'execution ended node_lost');
    }
    if (unreported.length > 0) {
      // The node completed these jobs but its report never arrived (it died just after,
      // or lost Redis): the job's return value is the same message.
      const values = await deps.redis.pipeline(unreported.map((jobKey) => ['hget', jobKey, 'returnvalue'])).exec();
      const messages = (values ?? []).flatMap(([err, value]) => (err || typeof value !== 'string' ? [] : [parseJson(value)]));
      deps.log.warn({ executions: unreported.length }, 'results read from completed jobs whose report never arrived');
      await deps.recover(messages);
    }
    missing = seen;
  }

  const timer = setInterval(() => {
    running = running.then(() => (stopped ? undefined : sweep())).catch((err) => deps.log.error({ err }, 'execution sweep failed'));
  }, deps.intervalMs);

  return {
    name: 'execution-sweeper',
    async close() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

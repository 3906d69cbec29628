// Makes sure no execution stays pending forever:
// - queued ones whose intake job was never enqueued (the api died between its commit and
//   the enqueue, or Redis lost the queue) are enqueued again. Intake is first in, first
//   out, so only executions queued before the oldest intake job still waiting can have
//   lost theirs: those behind a backlog are left alone. A second dispatch of one that was
//   not lost after all changes nothing (dispatch takes only executions still queued);
// - dispatched or running ones whose job failed (a node died twice: BullMQ retried once on
//   another node, then gave up) or vanished (Redis lost it) end `node_lost`.
// A vanished job is only declared lost when two sweeps in a row miss it, so a job being
// added right now is not mistaken for a lost one. Every action is idempotent, so any
// number of schedulers may sweep at once.
import { Job, type Queue } from 'bullmq';
import type { ExecutionStore } from '../../shared/db/stores/execution-store.ts';
import type { ExecPool } from '../../shared/execution/protocol.ts';
import { executionJobId, MAX_EXECUTIONS_PER_INTAKE_JOB, type IntakeJob } from '../../shared/execution/queues.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Closable } from '../../shared/process/lifecycle.ts';
import type { ExecutionFinisher } from '../execution-finisher.ts';

export interface SweeperDeps {
  readonly executions: ExecutionStore;
  readonly finisher: ExecutionFinisher;
  readonly intake: Queue<IntakeJob>;
  readonly execQueues: Readonly<Record<ExecPool, Queue>>;
  readonly intervalMs: number;
  readonly log: Logger;
}

const MIN_AGE_MS = 3000;
/** How far the api's clock (job timestamps) and the database's (queued_at) may disagree. */
const CLOCK_SLACK_MS = 1000;

export function startExecutionSweeper(deps: SweeperDeps): Closable {
  const missing = new Set<number>();
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  async function sweep(): Promise<void> {
    const waiting = await deps.intake.getJobs(['wait', 'prioritized', 'delayed'], 0, 0, true);
    const oldestWaiting = Math.min(...waiting.map((job) => job.timestamp));
    const cutoff = Number.isFinite(oldestWaiting) ? new Date(oldestWaiting - CLOCK_SLACK_MS) : undefined;
    const lost = await deps.executions.unfinished(['queued'], MIN_AGE_MS, MAX_EXECUTIONS_PER_INTAKE_JOB, cutoff);
    if (lost.length > 0) {
      await deps.intake.add('intake', { executionIds: lost.map((row) => row.id) });
      deps.log.warn({ executions: lost.length }, 'queued executions without an intake job enqueued again');
    }
    const seen = new Set<number>();
    for (const row of await deps.executions.unfinished(['dispatched', 'running'], MIN_AGE_MS)) {
      const queue = deps.execQueues[(row.pool as ExecPool | null) ?? 'standard'] ?? deps.execQueues.standard;
      const job = await Job.fromId(queue, executionJobId(row.id));
      const state = job ? await job.getState() : 'unknown';
      let reason: string | null = null;
      if (state === 'failed') reason = job?.failedReason || 'the job failed';
      else if (state === 'unknown') {
        seen.add(row.id);
        if (missing.has(row.id)) reason = 'the job disappeared from the queue (Redis lost it, or it was removed)';
      }
      if (!reason) continue;
      const ended = await deps.finisher.finish(row.id, { status: 'node_lost', error: { code: 'node_lost', message: reason } }, []);
      if (ended) deps.log.warn({ executionId: row.id, reason }, 'execution ended node_lost');
    }
    missing.clear();
    for (const id of seen) missing.add(id);
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

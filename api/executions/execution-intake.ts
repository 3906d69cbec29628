// Queues executions for the scheduler. Requests arriving together are written together:
// one statement inserts their rows and audit events, one intake job carries their ids
// (CoalescingBatcher: at rest each request goes alone and at once; while submissions
// stream in, a batch goes every STREAM_SPACING_MS). A batch holding an execution a
// synchronous caller waits for takes the fast lane instead: one list push that a
// scheduler pops directly (scheduler/intake/intake-fast-lane.ts), where a job costs
// seven round trips (add, the worker's fetches, completion), each a process woken up. If
// the enqueue is lost (crash, Redis down, a scheduler dying with a popped batch), the rows
// stay queued and the scheduler's sweeper enqueues them again.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ExecutionRow, ExecutionStore, QueuedExecution } from '../../shared/db/stores/execution-store.ts';
import { MAX_EXECUTIONS_PER_INTAKE_JOB, type IntakeJob } from '../../shared/execution/queues.ts';
import type { Logger } from '../../shared/logger.ts';
import { CoalescingBatcher } from '../../shared/process/coalescing-batcher.ts';

/** Batches being written at once (each holds one pooled connection while it runs). */
const BATCHES_IN_FLIGHT = 2;
/**
 * Spacing of batches while submissions stream in (CoalescingBatcher minIntervalMs): each
 * batch costs one insert here and, in the scheduler, one dispatch (a read, a slot script
 * round trip, a bulk add, a mark) whatever its size, so fuller batches leave more of the
 * machine to the runs themselves. A synchronous caller at rest is not held.
 */
const STREAM_SPACING_MS = 25;

export class ExecutionIntake {
  private readonly batcher: CoalescingBatcher<QueuedExecution, ExecutionRow>;

  constructor(
    private readonly executions: ExecutionStore,
    private readonly intake: Queue<IntakeJob>,
    /** Pushes to the fast lane (a command connection) and the lane's key. */
    private readonly fastLane: { readonly redis: Redis; readonly key: string },
    private readonly log: Logger,
  ) {
    this.batcher = new CoalescingBatcher((items) => this.queueBatch(items), {
      maxBatch: MAX_EXECUTIONS_PER_INTAKE_JOB,
      maxInFlight: BATCHES_IN_FLIGHT,
      minIntervalMs: STREAM_SPACING_MS,
    });
  }

  /** Resolves with the queued row once it is committed; the enqueue follows on its own. */
  queue(execution: QueuedExecution): Promise<ExecutionRow> {
    return this.batcher.submit(execution);
  }

  /** Resolves once every accepted execution has been written and handed to the queue (or given up to the sweeper). */
  idle(): Promise<void> {
    return this.batcher.idle();
  }

  private async queueBatch(items: QueuedExecution[]): Promise<ExecutionRow[]> {
    const rows = await this.executions.createQueuedMany(items);
    const job: IntakeJob = { executionIds: rows.map((r) => r.id) };
    const enqueued = items.some((item) => item.awaited)
      ? this.fastLane.redis.lpush(this.fastLane.key, JSON.stringify(job))
      : this.intake.add('intake', job);
    await enqueued.catch((err: unknown) => {
      this.log.warn({ err, executions: rows.length }, 'intake enqueue failed; the sweeper will enqueue these executions');
    });
    return rows;
  }
}

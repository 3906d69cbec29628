// Marks dispatched executions `dispatched` (with their pool) a little after their exec jobs
// went out, in batches, leaving out the ones that have ended by then. The mark is never on
// the way to a run (the job is out first, see intake-consumer.ts), but it is a write and a
// commit per intake job: at a synchronous caller's pace that was one per execution, for
// executions that had usually ended before the mark landed. Held back MARK_DELAY_MS, an
// execution that ended meanwhile needs no mark (its final state says everything), and under
// load one statement marks every intake job's executions of the interval.
//
// A mark that is lost (the process dies within the delay, the write fails) leaves the
// execution `queued` with its job: the same state as a crash between the job and the mark
// always could, which the sweeper resolves (a second dispatch adds nothing: same job id,
// same slot).
import type { ExecutionStore } from '../../shared/db/stores/execution-store.ts';
import type { Logger } from '../../shared/logger.ts';
import { HeldBatch } from '../../shared/process/held-batch.ts';

export const MARK_DELAY_MS = 50;

export interface DispatchMark {
  readonly id: number;
  readonly pool: string;
}

export class DispatchMarks {
  private readonly batch: HeldBatch<DispatchMark>;

  constructor(
    store: Pick<ExecutionStore, 'markDispatchedMany'>,
    /** Whether this process already wrote the execution's final state. */
    ended: (executionId: number) => boolean,
    log: Logger,
    delayMs = MARK_DELAY_MS,
  ) {
    this.batch = new HeldBatch(delayMs, async (marks) => {
      const unended = marks.filter((mark) => !ended(mark.id));
      if (unended.length === 0) return;
      try {
        await store.markDispatchedMany(unended);
      } catch (err) {
        log.warn({ err, executions: unended.length }, 'dispatch marks not written; the executions stay queued until the sweeper looks');
      }
    });
  }

  add(marks: readonly DispatchMark[]): void {
    void this.batch.add(marks);
  }

  /** Writes what is pending now; resolves once every mark added before the call is written (or given up). */
  flush(): Promise<void> {
    return this.batch.flush();
  }
}

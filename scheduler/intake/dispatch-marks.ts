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

export const MARK_DELAY_MS = 50;

export interface DispatchMark {
  readonly id: number;
  readonly pool: string;
}

export class DispatchMarks {
  private pending: DispatchMark[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Marks are written one batch after another. */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<ExecutionStore, 'markDispatchedMany'>,
    /** Whether this process already wrote the execution's final state. */
    private readonly ended: (executionId: number) => boolean,
    private readonly log: Logger,
    private readonly delayMs = MARK_DELAY_MS,
  ) {}

  add(marks: readonly DispatchMark[]): void {
    if (marks.length === 0) return;
    this.pending.push(...marks);
    this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
  }

  /** Writes what is pending now; resolves once every mark added before the call is written (or given up). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending.splice(0).filter((mark) => !this.ended(mark.id));
    this.writing = this.writing.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.store.markDispatchedMany(batch);
      } catch (err) {
        this.log.warn({ err, executions: batch.length }, 'dispatch marks not written; the executions stay queued until the sweeper looks');
      }
    });
    return this.writing;
  }
}

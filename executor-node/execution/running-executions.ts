// The executions this node is running right now, so that a kill signal, a lost lock or
// the end of the shutdown grace can find them. A kill that arrives before the sandbox run
// has started is remembered on the entry and applied the moment the run starts.
import type { KillSignal } from '../../shared/execution/protocol.ts';

export interface RunningExecution {
  readonly executionId: number;
  readonly agentId: number;
  readonly accountId: number;
  /** The BullMQ job id: lock-renewal failures name jobs, not executions. */
  readonly jobId: string;
  /** Why it was stopped from outside, once it was (the first reason wins). */
  stopReason: string | null;
  /**
   * Why the node gave the job back instead of reporting it (shutdown past its grace, lock
   * lost). Its result must not be sent: another attempt owns the execution now.
   */
  handBack: 'shutdown' | 'lock_lost' | null;
}

export class RunningExecutions {
  // A set, not a map by execution id: the same execution can briefly run twice on one
  // node (its lock was lost and the retry landed here), and both runs must be found.
  private readonly entries = new Set<RunningExecution>();

  add(entry: Pick<RunningExecution, 'executionId' | 'agentId' | 'accountId' | 'jobId'>): RunningExecution {
    const running: RunningExecution = { ...entry, stopReason: null, handBack: null };
    this.entries.add(running);
    return running;
  }

  delete(entry: RunningExecution): void {
    this.entries.delete(entry);
  }

  get size(): number {
    return this.entries.size;
  }

  all(): RunningExecution[] {
    return [...this.entries];
  }

  /** The executions a kill signal names: one execution, every run of an agent, or of an account. */
  matching(signal: KillSignal): RunningExecution[] {
    return this.all().filter((e) => {
      if (signal.scope === 'execution') return e.executionId === signal.executionId;
      if (signal.scope === 'agent') return e.agentId === signal.agentId;
      return e.accountId === signal.accountId;
    });
  }

  withJobId(jobId: string): RunningExecution[] {
    return this.all().filter((e) => e.jobId === jobId);
  }
}

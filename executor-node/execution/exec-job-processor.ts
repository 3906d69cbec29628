// Runs one exec job: parse it, refuse it if its agent or account is halted, otherwise
// announce it, run it in the sandbox with live progress and audit, and send the result.
// A node has no database: everything the run needs came in the job, everything it
// produces leaves through Redis (results queue, audit stream, progress channel).
import { UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { execJobSchema, poolOfQueue, type ExecJob, type NodeMessage } from '../../shared/execution/protocol.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SandboxPool } from '../sandbox/sandbox-pool.ts';
import type { ContextReader } from '../sandbox/sandbox-request.ts';
import type { JsonValue } from '../sandbox/sandbox-result.ts';
import type { AuditBuffer } from './audit-buffer.ts';
import { ExecutionAudit } from './execution-audit.ts';
import { progressFrameFor, type ProgressPublisher } from './progress-publisher.ts';
import type { ResultsPublisher } from './results-publisher.ts';
import type { RunningExecution, RunningExecutions } from './running-executions.ts';

export interface ExecJobProcessorDeps {
  readonly nodeId: string;
  readonly pool: Pick<SandboxPool, 'run' | 'terminate'>;
  readonly results: ResultsPublisher;
  readonly progress: ProgressPublisher;
  readonly audit: AuditBuffer;
  readonly running: RunningExecutions;
  /** Bound to the node (nodeId); each execution gets a child with its ids. */
  readonly log: Logger;
}

/** How long a run goes before its start is reported on its own (see run()). */
export const STARTED_REPORT_DELAY_MS = 25;

/**
 * What the BullMQ job returns: the message that ends the execution (`finished` with the
 * result, or `refused`). BullMQ stores it in the job as it marks the job completed, in one
 * atomic step, so the end of a run is durable the moment its job completes; the report
 * that carries the same message to the scheduler is sent alongside, batched with others,
 * and should it be lost the scheduler's sweeper reads the message from the job.
 */
export type ExecJobOutcome = Extract<NodeMessage, { type: 'finished' | 'refused' }>;

export class ExecJobProcessor {
  constructor(private readonly deps: ExecJobProcessorDeps) {}

  async process(job: Job, token: string | undefined): Promise<ExecJobOutcome> {
    const parsed = execJobSchema.safeParse(job.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.') || 'job';
      this.deps.log.error({ jobId: job.id, queue: job.queueName, field, issue: issue.message }, 'invalid exec job');
      // Not retried: the same bytes would fail the same way on any node.
      throw new UnrecoverableError(`invalid exec job: ${field}: ${issue.message}`);
    }
    const exec = parsed.data;
    const { executionId, accountId } = exec;
    const agentId = exec.agent.id;
    // The role's logger already carries nodeId.
    const log = this.deps.log.child({ executionId, agentId, accountId });
    // Registered before anything is awaited, so a kill arriving from here on finds it.
    const running = this.deps.running.add({ executionId, agentId, accountId, jobId: String(job.id) });
    try {
      const refusal = await this.deps.progress.publishRunningUnlessHalted(accountId, {
        type: 'status',
        executionId,
        agentId,
        status: 'running',
        nodeId: this.deps.nodeId,
        at: new Date().toISOString(),
      });
      if (refusal) {
        log.info({ reason: refusal }, 'execution refused: halted');
        return this.report({ type: 'refused', ...this.about(exec, job), reason: refusal }, exec.awaited, log);
      }
      return await this.run(exec, running, job, token, log);
    } finally {
      this.deps.running.delete(running);
    }
  }

  private async run(exec: ExecJob, running: RunningExecution, job: Job, token: string | undefined, log: Logger): Promise<ExecJobOutcome> {
    const { executionId, accountId } = exec;
    const agentId = exec.agent.id;
    const startedAt = new Date();
    // The start goes to the scheduler only if the run is still going STARTED_REPORT_DELAY_MS
    // later: most runs end sooner, and their `finished` records the start with the end (one
    // message and one database write instead of two). Live progress sees it at once.
    let startedSent: Promise<void> = Promise.resolve();
    const startReport = setTimeout(() => {
      startedSent = this.deps.results.send({ type: 'started', ...this.about(exec, job), at: startedAt.toISOString(), attempt: job.attemptsStarted });
      startedSent.catch(() => undefined);
    }, STARTED_REPORT_DELAY_MS);
    const audit = new ExecutionAudit({
      accountId,
      agentId,
      executionId,
      actor: `node:${this.deps.nodeId}`,
      permissionState: { scopes: exec.agent.permissions, config: exec.agent.config },
    });
    log.debug('execution started');
    const resultPromise = this.deps.pool.run({
      executionId,
      agent: {
        name: exec.agent.name,
        version: exec.agent.version,
        entryCode: exec.agent.entryCode,
        config: exec.agent.config,
        permissions: exec.agent.permissions,
      },
      input: exec.input,
      contextReader: contextReaderOf(exec.context),
      onEvent: (event) => {
        const frame = progressFrameFor(event, executionId, agentId);
        if (frame) this.deps.progress.publish(accountId, frame);
        const auditEvent = audit.eventFor(event);
        if (auditEvent) this.deps.audit.add([auditEvent]);
      },
    });
    // pool.run registers the run synchronously: a kill that came while we were checking
    // halts (and found no run to stop then) is applied now.
    if (running.stopReason !== null) this.deps.pool.terminate(executionId, running.stopReason);
    const result = await resultPromise.finally(() => clearTimeout(startReport));
    await startedSent;
    // Before the result leaves (report and job completion): once the scheduler has it, it
    // may tell the caller, and the audit trail must not lag behind what the caller was told.
    await this.deps.audit.flush();
    if (running.handBack !== null) return this.handBack(running, job, token, log);
    // Debug: at thousands per second an info line per run costs more than the run; the
    // audit trail and the execution row already record every end.
    log.debug({ status: result.status, durationMs: result.duration_ms }, 'execution finished');
    return this.report(
      { type: 'finished', ...this.about(exec, job), attempt: job.attemptsStarted, startedAt: startedAt.toISOString(), result: { ...result } },
      exec.awaited,
      log,
    );
  }

  /**
   * Sends the ending message without waiting for it (see ExecJobOutcome) and returns it for
   * the job; ahead of its report too when a synchronous caller waits for it.
   */
  private report(message: ExecJobOutcome, awaited: boolean, log: Logger): ExecJobOutcome {
    this.deps.results.send(message, { ahead: awaited }).catch((err: unknown) => log.warn({ err }, 'result report not sent; the sweeper will read it from the job'));
    return message;
  }

  /** The node gave this job up; its result is not reported, another attempt owns the execution. */
  private async handBack(running: RunningExecution, job: Job, token: string | undefined, log: Logger): Promise<never> {
    if (running.handBack === 'shutdown' && token !== undefined) {
      // Straight back to the head of the wait list: another node starts it at once, and
      // it does not count as a stall (its one stall retry is kept for a real crash).
      await job.moveToWait(token);
      log.warn('execution handed back: the node is shutting down');
      throw new WaitingError();
    }
    log.warn('execution abandoned: its lock was lost and another attempt owns it');
    throw new Error('the job lock was lost; another attempt owns this execution');
  }

  private about(exec: ExecJob, job: Job): Omit<Extract<NodeMessage, { type: 'refused' }>, 'type' | 'reason'> {
    const pool = poolOfQueue(job.queueName);
    return {
      executionId: exec.executionId,
      accountId: exec.accountId,
      agentId: exec.agent.id,
      nodeId: this.deps.nodeId,
      at: new Date().toISOString(),
      ...(pool ? { pool } : {}),
    };
  }
}

/** read_context answers from the snapshot the scheduler put in the job; a missing key is null. */
function contextReaderOf(context: ExecJob['context']): ContextReader {
  return {
    read: async (key) => (Object.hasOwn(context, key) ? (context[key] as JsonValue) : null),
  };
}

// Ends executions: the one conditional write of their final states with their audit
// events, then the release of their concurrency slots and the notifications (a done
// notice when a synchronous caller waits, a result frame for live progress). Endings submitted
// together, by one caller or by several at once, share one statement and one Redis round
// trip. Used by the intake (refusals), the results consumer and the sweeper.
import type { Redis } from 'ioredis';
import type { AuditActionType } from '../shared/audit/audit-event.ts';
import { summarize } from '../shared/audit/summarize.ts';
import type { ExecutionRow, ExecutionStore, FinalFields, FinalState, RowAudit } from '../shared/db/stores/execution-store.ts';
import { presentExecution } from '../shared/execution/execution-presenter.ts';
import { MAX_INLINE_EXECUTION_BYTES, type DoneNotice, type ProgressFrame } from '../shared/execution/protocol.ts';
import type { Logger } from '../shared/logger.ts';
import type { RedisKeys } from '../shared/redis/keys.ts';
import { CoalescingBatcher } from '../shared/process/coalescing-batcher.ts';

export interface FinishAudit {
  readonly actionType: AuditActionType;
  readonly description: string;
  readonly isViolation?: boolean;
}

export interface Ending {
  readonly executionId: number;
  readonly fields: FinalFields;
  /** Events recorded before the final one (execution_completed or execution_failed). */
  readonly audits: readonly FinishAudit[];
  readonly actor?: string;
  /** The node's start of the run, when it was not reported separately (FinalState.start). */
  readonly start?: { readonly at: Date; readonly attempt: number; readonly nodeId: string };
}

/** Endings written at once; concurrent callers' endings share statements (CoalescingBatcher). */
const WRITES_IN_FLIGHT = 2;
/**
 * Spacing of final writes while endings stream in (CoalescingBatcher minIntervalMs): one
 * statement and one notification round trip per batch, whatever its size. A synchronous
 * caller's ending (and the report's no-op second write of it, a few ms later) comes at a
 * request-response pace, which the batcher does not hold.
 */
const STREAM_SPACING_MS = 25;
/**
 * Executions this process ended, remembered so that a second ending of one (the report
 * that follows a synchronous execution's ahead message, a redelivered report) is answered
 * without a statement: a final state is final, so that statement could only be a no-op.
 */
const REMEMBERED_ENDINGS = 20_000;

export class ExecutionFinisher {
  private readonly writer: CoalescingBatcher<Ending, ExecutionRow | null>;
  /** Insertion order is age: the oldest is forgotten first. */
  private readonly ended = new Set<number>();

  constructor(
    private readonly store: ExecutionStore,
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
  ) {
    this.writer = new CoalescingBatcher((endings) => this.write(endings), { maxBatch: 1000, maxInFlight: WRITES_IN_FLIGHT, minIntervalMs: STREAM_SPACING_MS });
  }

  /** Returns the row when this call wrote the final state, null when it was already final. */
  async finish(executionId: number, fields: FinalFields, audits: readonly FinishAudit[], actor = 'system'): Promise<ExecutionRow | null> {
    return this.submit({ executionId, fields, audits, actor });
  }

  /** Returns the rows this call ended; those already final are left out. */
  async finishMany(endings: readonly Ending[]): Promise<ExecutionRow[]> {
    const rows = await Promise.all(endings.map((ending) => this.submit(ending)));
    return rows.filter((row): row is ExecutionRow => row !== null);
  }

  /** Whether this process wrote the execution's final state (among the last REMEMBERED_ENDINGS). */
  hasEnded(executionId: number): boolean {
    return this.ended.has(executionId);
  }

  private async submit(ending: Ending): Promise<ExecutionRow | null> {
    if (this.ended.has(ending.executionId)) return null;
    const row = await this.writer.submit(ending);
    if (row) this.remember(row.id);
    return row;
  }

  private remember(executionId: number): void {
    this.ended.add(executionId);
    if (this.ended.size > REMEMBERED_ENDINGS) this.ended.delete(this.ended.values().next().value!);
  }

  /** One statement for every ending submitted together, then one Redis round trip for their notifications. */
  private async write(endings: Ending[]): Promise<(ExecutionRow | null)[]> {
    // One statement cannot end the same row twice: the first ending of an execution wins.
    const first = new Map<number, number>();
    endings.forEach((ending, i) => {
      if (!first.has(ending.executionId)) first.set(ending.executionId, i);
    });
    const unique = [...first.values()].map((i) => endings[i]!);
    const rows = await this.store.finalizeMany(unique.map(finalState));
    const byId = new Map(rows.map((row) => [row.id, row]));
    if (rows.length > 0) await this.notify(rows);
    return endings.map((ending, i) => (first.get(ending.executionId) === i ? (byId.get(ending.executionId) ?? null) : null));
  }

  private async notify(rows: readonly ExecutionRow[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const row of rows) {
      const frame: ProgressFrame = {
        type: 'result',
        executionId: row.id,
        agentId: row.agent_id,
        status: row.status,
        output: row.output ?? null,
        error: row.error ?? null,
        at: (row.finished_at ?? new Date()).toISOString(),
      };
      pipeline.zrem(this.keys.agentRunningKey(row.account_id, row.agent_id), String(row.id));
      pipeline.publish(this.keys.progressChannel(row.account_id), JSON.stringify(frame));
      // Only a synchronous caller waits on the notice; every api process receives it.
      if (row.awaited) pipeline.publish(this.keys.executionDoneChannel, doneNotice(row));
    }
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed) this.log.warn({ err: failed[0], executions: rows.length }, 'executions finished but a notification failed');
  }
}

function finalState(ending: Ending): FinalState {
  const { executionId, fields, audits, start } = ending;
  const actor = ending.actor ?? 'system';
  const rowAudit = (a: FinishAudit): RowAudit => ({ actor, actionType: a.actionType, description: a.description, isViolation: a.isViolation ?? false });
  return {
    id: executionId,
    fields,
    audits: [
      ...audits.map(rowAudit),
      {
        actor,
        actionType: fields.status === 'completed' ? 'execution_completed' : 'execution_failed',
        description: `execution ${executionId} ended ${fields.status}${fields.error ? `: ${fields.error.code}` : ''}`,
        outputSummary: summarize({ status: fields.status, output: fields.output, error: fields.error?.code ?? null }),
      },
    ],
    ...(start ? { start: { at: start.at, attempt: start.attempt, audit: startedAudit(executionId, start.nodeId, actor) } } : {}),
  };
}

/** The audit event of a node starting a run (attempt), whichever message brings it. */
export function startedAudit(executionId: number, nodeId: string, actor: string): RowAudit {
  return { actor, actionType: 'execution_started', description: `execution ${executionId} started on node ${nodeId}` };
}

function doneNotice(row: ExecutionRow): string {
  const notice: DoneNotice = { executionId: row.id, accountId: row.account_id, status: row.status };
  const withExecution = JSON.stringify({ ...notice, execution: presentExecution(row) });
  // Byte length is at most 3x the UTF-16 length: skip measuring what is clearly small.
  const small = withExecution.length * 3 <= MAX_INLINE_EXECUTION_BYTES || Buffer.byteLength(withExecution) <= MAX_INLINE_EXECUTION_BYTES;
  return small ? withExecution : JSON.stringify(notice);
}

// Ends an execution: the one conditional write of its final state with its audit events,
// then the release of its concurrency slot and the notifications (done channel for
// synchronous callers, a result frame for live progress). Used by the intake (refusals),
// the results consumer and the sweeper.
import type { Redis } from 'ioredis';
import type { AuditActionType } from '../shared/audit/audit-event.ts';
import { summarize } from '../shared/audit/summarize.ts';
import type { ExecutionRow, ExecutionStore, FinalFields } from '../shared/db/stores/execution-store.ts';
import type { ProgressFrame } from '../shared/execution/protocol.ts';
import type { Logger } from '../shared/logger.ts';
import type { RedisKeys } from '../shared/redis/keys.ts';

export interface FinishAudit {
  readonly actionType: AuditActionType;
  readonly description: string;
  readonly isViolation?: boolean;
}

export class ExecutionFinisher {
  constructor(
    private readonly store: ExecutionStore,
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
  ) {}

  /** Returns the row when this call wrote the final state, null when it was already final. */
  async finish(executionId: number, fields: FinalFields, audits: readonly FinishAudit[], actor = 'system'): Promise<ExecutionRow | null> {
    const row = await this.store.finalize(executionId, fields, [
      ...audits.map((a) => ({ actor, actionType: a.actionType, description: a.description, isViolation: a.isViolation ?? false })),
      {
        actor,
        actionType: fields.status === 'completed' ? ('execution_completed' as const) : ('execution_failed' as const),
        description: `execution ${executionId} ended ${fields.status}${fields.error ? `: ${fields.error.code}` : ''}`,
        outputSummary: summarize({ status: fields.status, output: fields.output, error: fields.error?.code ?? null }),
      },
    ]);
    if (!row) return null;
    const frame: ProgressFrame = {
      type: 'result',
      executionId: row.id,
      agentId: row.agent_id,
      status: row.status,
      output: row.output ?? null,
      error: row.error ?? null,
      at: (row.finished_at ?? new Date()).toISOString(),
    };
    const pipeline = this.redis.pipeline();
    pipeline.zrem(this.keys.agentRunningKey(row.account_id, row.agent_id), String(row.id));
    pipeline.publish(this.keys.progressChannel(row.account_id), JSON.stringify(frame));
    pipeline.publish(this.keys.executionDoneChannel, JSON.stringify({ executionId: row.id, accountId: row.account_id, status: row.status }));
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed) this.log.warn({ err: failed[0], executionId: row.id }, 'execution finished but a notification failed');
    return row;
  }
}

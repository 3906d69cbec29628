// Consumes what executor nodes send back on the durable `results` queue and persists it.
// Each job is a node's report of the messages it had ready at once: `started` marks an
// execution running, `finished` writes the sandbox result as its final state, `refused`
// ends it halted. A message processed twice changes nothing.
import type { Job } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../../shared/config.ts';
import type { ExecutionStore, RunningReport } from '../../shared/db/stores/execution-store.ts';
import { nodeMessageSchema, nodeReportSchema, QUEUES, type NodeMessage } from '../../shared/execution/protocol.ts';
import { startQueueConsumer } from '../../shared/execution/queues.ts';
import { SANDBOX_STATUSES } from '../../shared/execution/statuses.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Closable } from '../../shared/process/lifecycle.ts';
import { startedAudit, type Ending, type ExecutionFinisher } from '../execution-finisher.ts';

/** The sandbox result as it arrives from a node: checked, bounded, never trusted further. */
const resultSchema = z.object({
  status: z.enum(SANDBOX_STATUSES),
  output: z.json().nullable().optional(),
  error: z.object({ code: z.string().max(64), message: z.string().max(8192), stack: z.string().max(16_384).nullable().optional() }).nullable(),
  resource_usage: z.record(z.string(), z.number()),
  host_call_audit: z.array(z.json()).max(100_000),
  logs: z.array(z.json()).max(100_000),
  violation_count: z.number().int().min(0),
  was_terminated: z.boolean(),
  duration_ms: z.number().min(0).optional(),
});

export interface ResultsDeps {
  readonly config: Config;
  readonly executions: ExecutionStore;
  readonly finisher: ExecutionFinisher;
  readonly log: Logger;
}

/** Report jobs handled at once; each may carry many messages. */
const REPORT_CONCURRENCY = 8;

export function startResultsConsumer(deps: ResultsDeps): Closable {
  return startQueueConsumer<unknown>(deps.config, { name: 'results', queue: QUEUES.results, concurrency: REPORT_CONCURRENCY, log: deps.log }, (job) =>
    handleReport(deps, job),
  );
}

/**
 * Persists one report: every start not overtaken by its own end in one statement, every
 * end in another. A run that ended before its start was reported is recorded with its
 * start by the final write. A report processed twice changes nothing.
 */
async function handleReport(deps: ResultsDeps, job: Job<unknown>): Promise<void> {
  const report = nodeReportSchema.safeParse(job.data);
  if (!report.success) {
    deps.log.error({ jobId: job.id, issues: report.error.issues.slice(0, 3) }, 'malformed node report dropped');
    return;
  }
  await persistNodeMessages(deps, report.data.messages, `report ${job.id}`);
}

/**
 * Persists node messages however they came (a report, or an exec job's return value read
 * by the sweeper): each is parsed on its own, malformed ones are logged and dropped.
 */
export async function persistNodeMessages(deps: ResultsDeps, raw: readonly unknown[], source: string): Promise<void> {
  const messages: NodeMessage[] = [];
  for (const item of raw) {
    const parsed = nodeMessageSchema.safeParse(item);
    if (parsed.success) messages.push(parsed.data);
    else deps.log.error({ source, issues: parsed.error.issues.slice(0, 3) }, 'malformed node message dropped');
  }
  const ended = new Set(messages.filter((m) => m.type !== 'started').map((m) => m.executionId));
  const starts: RunningReport[] = [];
  const endings: Ending[] = [];
  for (const message of messages) {
    const actor = nodeActor(message.nodeId);
    if (message.type === 'started') {
      if (ended.has(message.executionId)) continue;
      starts.push({
        id: message.executionId,
        nodeId: message.nodeId,
        pool: message.pool ?? null,
        at: new Date(message.at),
        attempt: message.attempt,
        audit: startedAudit(message.executionId, message.nodeId, actor),
      });
      continue;
    }
    endings.push(message.type === 'refused' ? refusalEnding(message, actor) : finishedEnding(deps, message, actor));
  }
  await Promise.all([deps.executions.markRunningMany(starts), deps.finisher.finishMany(endings)]);
}

function nodeActor(nodeId: string): string {
  return `node:${nodeId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64)}`;
}

/** Where the node ran it, as the execution row records it. */
function fromNode(message: NodeMessage): { node_id: string; pool: string | null } {
  return { node_id: message.nodeId, pool: message.pool ?? null };
}

function refusalEnding(message: Extract<NodeMessage, { type: 'refused' }>, actor: string): Ending {
  return {
    executionId: message.executionId,
    fields: { status: 'halted', error: { code: message.reason, message: `not run: ${message.reason.replace('_', ' ')}` }, ...fromNode(message) },
    audits: [{ actionType: 'halt', description: `execution ${message.executionId} not run: ${message.reason}`, isViolation: true }],
    actor,
  };
}

function finishedEnding(deps: ResultsDeps, message: Extract<NodeMessage, { type: 'finished' }>, actor: string): Ending {
  const start = { at: new Date(message.startedAt), attempt: message.attempt, nodeId: message.nodeId };
  const result = resultSchema.safeParse(message.result);
  if (!result.success) {
    deps.log.error({ executionId: message.executionId, issues: result.error.issues.slice(0, 3) }, 'node sent an invalid result');
    return {
      executionId: message.executionId,
      fields: { status: 'failed', error: { code: 'invalid_result', message: 'the executor node returned a result that failed validation' }, ...fromNode(message) },
      audits: [],
      actor,
      start,
    };
  }
  const r = result.data;
  return {
    executionId: message.executionId,
    fields: {
      status: r.status,
      output: r.output ?? null,
      error: r.error ?? null,
      resource_usage: r.resource_usage,
      host_call_audit: r.host_call_audit,
      logs: r.logs,
      violation_count: r.violation_count,
      was_terminated: r.was_terminated,
      ...fromNode(message),
      duration_ms: r.duration_ms ?? null,
    },
    audits: [],
    actor,
    start,
  };
}

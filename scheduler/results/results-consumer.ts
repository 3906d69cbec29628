// Consumes what executor nodes send back on the durable `results` queue and persists it:
// `started` marks the execution running, `finished` writes the sandbox result as its
// final state, `refused` ends it halted. A message processed twice changes nothing.
import { Worker, type Job } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../../shared/config.ts';
import type { ExecutionStore } from '../../shared/db/stores/execution-store.ts';
import { nodeMessageSchema, QUEUES, type NodeMessage } from '../../shared/execution/protocol.ts';
import { bullConnection, queueOptions } from '../../shared/execution/queues.ts';
import type { FinalStatus } from '../../shared/execution/statuses.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Closable } from '../../shared/process/lifecycle.ts';
import type { ExecutionFinisher } from '../execution-finisher.ts';

/** The sandbox result as it arrives from a node: checked, bounded, never trusted further. */
const resultSchema = z.object({
  status: z.enum(['completed', 'failed', 'timed_out', 'terminated', 'limit_exceeded', 'rate_limited']),
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

export function startResultsConsumer(deps: ResultsDeps): Closable {
  const connection = bullConnection(deps.config, 'scheduler-results');
  const worker = new Worker<NodeMessage>(QUEUES.results, (job) => handle(deps, job), {
    ...queueOptions(deps.config, connection),
    concurrency: 32,
  });
  worker.on('failed', (job, err) => deps.log.error({ err, jobId: job?.id }, 'result message failed'));
  return {
    name: 'results-consumer',
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}

async function handle(deps: ResultsDeps, job: Job<NodeMessage>): Promise<void> {
  const parsed = nodeMessageSchema.safeParse(job.data);
  if (!parsed.success) {
    deps.log.error({ jobId: job.id, issues: parsed.error.issues.slice(0, 3) }, 'malformed node message dropped');
    return;
  }
  const message = parsed.data;
  const actor = `node:${message.nodeId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64)}`;
  switch (message.type) {
    case 'started':
      await deps.executions.markRunning(message.executionId, message.nodeId, new Date(message.at), {
        actor,
        actionType: 'execution_started',
        description: `execution ${message.executionId} started on node ${message.nodeId}`,
      });
      return;
    case 'refused':
      await deps.finisher.finish(
        message.executionId,
        { status: 'halted', error: { code: message.reason, message: `not run: ${message.reason.replace('_', ' ')}` }, node_id: message.nodeId },
        [{ actionType: 'halt', description: `execution ${message.executionId} not run: ${message.reason}`, isViolation: true }],
        actor,
      );
      return;
    case 'finished': {
      const result = resultSchema.safeParse(message.result);
      if (!result.success) {
        deps.log.error({ executionId: message.executionId, issues: result.error.issues.slice(0, 3) }, 'node sent an invalid result');
        await deps.finisher.finish(
          message.executionId,
          { status: 'failed', error: { code: 'invalid_result', message: 'the executor node returned a result that failed validation' }, node_id: message.nodeId },
          [],
          actor,
        );
        return;
      }
      const r = result.data;
      await deps.finisher.finish(
        message.executionId,
        {
          status: r.status as FinalStatus,
          output: r.output ?? null,
          error: r.error ?? null,
          resource_usage: r.resource_usage,
          host_call_audit: r.host_call_audit,
          logs: r.logs,
          violation_count: r.violation_count,
          was_terminated: r.was_terminated,
          node_id: message.nodeId,
          duration_ms: r.duration_ms ?? null,
        },
        [],
        actor,
      );
    }
  }
}

// What crosses between the scheduler and executor nodes through Redis: the job a node
// runs, the messages it sends back, live progress frames and kill signals. Each side
// parses what it receives with these schemas: the far side is untrusted.
import { z } from 'zod';
import { AGENT_SCOPES } from '../permissions/agent-scopes.ts';
import { CONFIG_BOUNDS, SANDBOX_TEMPLATE_NAMES } from '../sandbox-templates.ts';

/** BullMQ queue names (BullMQ forbids ':' in them); the Redis prefix comes from config. */
export const QUEUES = {
  intake: 'intake',
  results: 'results',
  /** exec-<pool>: `standard` for most agents, `tee` for templates that need attestation. */
  exec: (pool: ExecPool) => `exec-${pool}`,
} as const;

export const EXEC_POOLS = ['standard', 'tee'] as const;
export type ExecPool = (typeof EXEC_POOLS)[number];

/** The pool whose exec queue has this name, if any. */
export function poolOfQueue(queueName: string): ExecPool | undefined {
  return EXEC_POOLS.find((pool) => QUEUES.exec(pool) === queueName);
}

const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const json = z.json();

export const MAX_CONTEXT_SNAPSHOT_BYTES = 2 * 1024 * 1024;

/** Scheduler -> node: everything needed to run, since nodes have no database access. */
export const execJobSchema = z
  .object({
    executionId: id,
    accountId: id,
    agent: z
      .object({
        id,
        name: z.string().min(1).max(64),
        version: z.string().min(1).max(32),
        entryCode: z.string().max(1024 * 1024),
        config: z
          .object({
            memory_limit_mb: z.number().int().min(CONFIG_BOUNDS.memory_limit_mb.min).max(CONFIG_BOUNDS.memory_limit_mb.max),
            cpu_time_limit_ms: z.number().int().min(CONFIG_BOUNDS.cpu_time_limit_ms.min).max(CONFIG_BOUNDS.cpu_time_limit_ms.max),
            max_api_calls_per_run: z.number().int().min(0).max(CONFIG_BOUNDS.max_api_calls_per_run.max),
            allow_network: z.boolean(),
            allow_filesystem: z.boolean(),
            sandbox_template: z.enum(SANDBOX_TEMPLATE_NAMES),
            allowed_domains: z.array(z.string().max(253)).max(CONFIG_BOUNDS.allowed_domains.max),
          })
          .strict(),
        permissions: z.array(z.enum(AGENT_SCOPES)).max(AGENT_SCOPES.length),
        swarm: z.string().max(64).nullable(),
      })
      .strict(),
    input: json,
    /** The agent's context store at dispatch time, answered by read_context. */
    context: z.record(z.string().max(128), json),
    dispatchedAt: z.iso.datetime(),
    /**
     * A synchronous caller waits for this execution: its ending is also published on the
     * results-ahead channel, ahead of the report (jobs without it are treated as not awaited).
     */
    awaited: z.boolean().default(false),
  })
  .strict();
export type ExecJob = z.output<typeof execJobSchema>;

const attempt = z.number().int().min(1).max(1000);

/** What every node message says: which execution, from which node, when. */
const messageBase = {
  executionId: id,
  accountId: id,
  agentId: id,
  nodeId: z.string().max(128),
  at: z.iso.datetime(),
  /**
   * The pool whose queue the node took the job from. The execution's row records it: the
   * scheduler's dispatch mark does too, but leaves out executions that ended before it.
   * Optional: messages of a node of the previous version, still queued, lack it.
   */
  pool: z.enum(EXEC_POOLS).optional(),
};

/** Node -> scheduler, inside a NodeReport on the durable `results` queue. */
export const nodeMessageSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('started'),
      ...messageBase,
      /** The exec job's attemptsStarted: a repeated report of the same attempt changes nothing. */
      attempt,
    })
    .strict(),
  z
    .object({
      type: z.literal('finished'),
      ...messageBase,
      attempt,
      /** When the run started: a short run ends before its `started` is sent, and this records it. */
      startedAt: z.iso.datetime(),
      /** The sandbox result (product page shape); the scheduler re-validates its fields. */
      result: z.record(z.string(), z.unknown()),
    })
    .strict(),
  z
    .object({
      type: z.literal('refused'),
      ...messageBase,
      reason: z.enum(['agent_halted', 'account_halted']),
    })
    .strict(),
]);
export type NodeMessage = z.output<typeof nodeMessageSchema>;

export const MAX_MESSAGES_PER_REPORT = 1000;

/**
 * One results-queue job: the messages a node had ready at once. Each message is parsed on
 * its own, so one malformed message does not cost the others.
 */
export const nodeReportSchema = z
  .object({ messages: z.array(z.unknown()).min(1).max(MAX_MESSAGES_PER_REPORT) })
  .strict();
export type NodeReport = { messages: NodeMessage[] };

/** Live progress frames, published per account; the WebSocket forwards them as they are. */
export type ProgressFrame =
  | { type: 'status'; executionId: number; agentId: number; status: string; nodeId?: string; at: string }
  | { type: 'log'; executionId: number; agentId: number; level: string; message: string; time: string }
  | { type: 'host_call'; executionId: number; agentId: number; fn: string; allowed: boolean; reason: string | null; duration_ms: number; timestamp: string }
  | { type: 'result'; executionId: number; agentId: number; status: string; output: unknown; error: unknown; at: string }
  | { type: 'error'; executionId: number; agentId: number; code: string; message: string; at: string };

/** Kill signals, broadcast to every node; each terminates what it runs that matches. */
export const killSignalSchema = z.discriminatedUnion('scope', [
  z.object({ scope: z.literal('execution'), executionId: id, reason: z.string().max(1000) }).strict(),
  z.object({ scope: z.literal('agent'), agentId: id, reason: z.string().max(1000) }).strict(),
  z.object({ scope: z.literal('account'), accountId: id, reason: z.string().max(1000) }).strict(),
]);
export type KillSignal = z.output<typeof killSignalSchema>;

/**
 * Scheduler -> api processes: an execution ended. Carries the execution as the API shows
 * it when that is small, so a waiting synchronous call answers without a database read.
 */
export const doneNoticeSchema = z.object({
  executionId: id,
  accountId: id,
  status: z.string().max(32),
  execution: z.record(z.string(), z.unknown()).optional(),
});
export type DoneNotice = z.output<typeof doneNoticeSchema>;

/** Largest presented execution (JSON bytes) a done notice carries inline. */
export const MAX_INLINE_EXECUTION_BYTES = 16 * 1024;

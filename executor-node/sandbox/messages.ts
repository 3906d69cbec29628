// Every message that crosses between the pool (executor node's main thread) and a
// sandbox thread, with its schema. A thread runs hostile code, so the pool parses
// everything a thread sends; a thread takes the pool's messages as typed (see
// sandbox-thread.ts for why it does not load zod).
import { MessagePort } from 'node:worker_threads';
import { z } from 'zod';
import { AGENT_SCOPES } from '../../shared/permissions/agent-scopes.ts';
import {
  LOG_LEVELS,
  SANDBOX_ERROR_CODES,
  SANDBOX_STATUSES,
  VIOLATION_KINDS,
  type HostCallAuditEntry,
  type JsonValue,
  type LogLine,
  type SandboxEvent,
  type SandboxViolation,
} from './sandbox-result.ts';

const int = z.number().int();
const count = int.min(0);
const shortText = (max: number) => z.string().max(max);

// ---- pool -> thread: the task and the thread's settings -------------------------------

export const operatorLimitsSchema = z.object({
  apiCallsPerMinute: int.min(1),
  maxOutputBytes: int.min(1),
  maxLogLines: int.min(1),
  maxLogBytes: int.min(1),
  maxPendingHostCalls: int.min(1),
  maxHostCalls: int.min(1),
  maxStackBytes: int.min(1),
  maxContextValueBytes: int.min(1),
  httpTimeoutMs: int.min(1),
  httpMaxRequestBytes: int.min(1),
  httpMaxResponseBytes: int.min(1),
});

/** Given to each thread once (workerData): what the operator configured. */
export const threadSettingsSchema = z.object({
  trustedCidrs: z.array(z.string()),
  limits: operatorLimitsSchema,
});
export type ThreadSettings = z.infer<typeof threadSettingsSchema>;

/** The limits that come from the agent's config, sent with every task. */
export const agentLimitsSchema = z.object({
  memoryLimitBytes: int.min(1),
  timeLimitMs: int.min(1),
  maxApiCallsPerRun: count,
});

export const runTaskSchema = z.object({
  runId: int.min(1),
  executionId: count,
  agentName: z.string(),
  agentVersion: z.string(),
  code: z.string(),
  inputJson: z.string(),
  grant: z.object({
    scopes: z.array(z.enum(AGENT_SCOPES)),
    allowNetwork: z.boolean(),
    allowedDomains: z.array(z.string()),
  }),
  limits: agentLimitsSchema,
  /** The caller wants every log line and call as it happens, not only with the result. */
  liveEvents: z.boolean(),
});
export type RunTask = z.infer<typeof runTaskSchema>;

// ---- what a run leaves behind ---------------------------------------------------------

const jsonValue: z.ZodType<JsonValue> = z.json() as z.ZodType<JsonValue>;

export const auditEntrySchema: z.ZodType<HostCallAuditEntry> = z.object({
  seq: int.min(1),
  fn: shortText(64),
  args: z.record(z.string(), jsonValue),
  timestamp: shortText(64),
  allowed: z.boolean(),
  reason: shortText(128).nullable(),
  error: shortText(128).nullable(),
  duration_ms: z.number().min(0),
});

export const logLineSchema: z.ZodType<LogLine> = z.object({
  level: z.enum(LOG_LEVELS),
  message: z.string(),
  time: shortText(64),
});

export const violationSchema: z.ZodType<SandboxViolation> = z.object({
  kind: z.enum(VIOLATION_KINDS),
  code: shortText(128),
  message: shortText(4096),
  timestamp: shortText(64),
  fn: shortText(64).nullable(),
});

export const sandboxEventSchema: z.ZodType<SandboxEvent> = z.discriminatedUnion('type', [
  z.object({ type: z.literal('log'), line: logLineSchema }),
  z.object({ type: z.literal('host_call'), entry: auditEntrySchema }),
  z.object({ type: z.literal('violation'), violation: violationSchema }),
]) as z.ZodType<SandboxEvent>;

/** What a thread returns for a task: the result with the output still as JSON text. */
export const threadRunResultSchema = z.object({
  runId: int.min(1),
  status: z.enum(SANDBOX_STATUSES),
  outputJson: z.string().nullable(),
  error: z
    .object({ code: z.enum(SANDBOX_ERROR_CODES), message: shortText(8192), stack: shortText(8192).nullable() })
    .nullable(),
  cpuMs: z.number().min(0),
  memoryBytes: z.number().min(0),
  apiCalls: count,
  hostCalls: count,
  audit: z.array(auditEntrySchema),
  logs: z.array(logLineSchema),
  violations: z.array(violationSchema),
  /** One letter per entry above, in the order they happened: l(og), h(ost call), v(iolation). */
  eventOrder: z.string().regex(/^[lhv]*$/),
  /** Why the engine failed, for the operator's log; never part of the public result. */
  faultDetail: shortText(4096).nullable(),
});
export type ThreadRunResult = z.infer<typeof threadRunResultSchema>;

// ---- the per-thread side channel -------------------------------------------------------

/**
 * Shared memory between the pool and one thread, so that neither has to post a message
 * per run: Int32 slot STOP holds the runId the pool wants stopped (read by the guest's
 * interrupt handler, so it lands even in a tight loop), slot RUNNING the runId the thread
 * is executing (0 when idle); the Float64 holds when that run started (epoch ms).
 */
export const THREAD_SLOT = { STOP: 0, RUNNING: 1 } as const;

/** Posted once on the thread's parentPort at start: the side channel and the shared slots. */
export const THREAD_HELLO = 'tz-sandbox-thread-hello';
export const threadHelloSchema = z.object({
  kind: z.literal(THREAD_HELLO),
  port: z.instanceof(MessagePort),
  slots: z.custom<Int32Array<SharedArrayBuffer>>((v) => v instanceof Int32Array && v.buffer instanceof SharedArrayBuffer && v.length >= 2),
  startedAt: z.custom<Float64Array<SharedArrayBuffer>>((v) => v instanceof Float64Array && v.buffer instanceof SharedArrayBuffer && v.length >= 1),
});
export type ThreadHello = z.infer<typeof threadHelloSchema>;

export const threadMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('context_read'), runId: int.min(1), requestId: int.min(1), key: shortText(256) }),
  z.object({ type: z.literal('event'), runId: int.min(1), event: sandboxEventSchema }),
]);
export type ThreadMessage = z.infer<typeof threadMessageSchema>;

export const poolMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('context_value'), runId: int.min(1), requestId: int.min(1), json: z.string().nullable() }),
  z.object({ type: z.literal('context_error'), runId: int.min(1), requestId: int.min(1) }),
  z.object({ type: z.literal('stop'), runId: int.min(1), reason: shortText(512) }),
]);
export type PoolMessage = z.infer<typeof poolMessageSchema>;

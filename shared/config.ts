// The only module that reads process.env. Parsed once at start into a frozen object
// that is passed down; a bad value stops the process with one line naming the variable.
import { availableParallelism, hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { EXEC_POOLS, type ExecPool } from './execution/protocol.ts';
import { Secret } from './secret.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().min(1);
const bytes = (max: number) => z.coerce.number().int().min(1).max(max);

function urlWithProtocols(protocols: string[]) {
  return z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL with scheme ${protocols.map((p) => p.replace(':', '://')).join(' or ')}` },
  );
}

/** Executor node ids appear in audit actors (`node:<id>`), so they follow the actor pattern. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** hostname-pid with anything outside the pattern replaced; the pid survives truncation. */
export function defaultNodeId(host: string = hostname(), pid: number = process.pid): string {
  const suffix = `-${pid}`;
  const base = host.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64 - suffix.length) || 'node';
  return `${base}${suffix}`;
}

const execPoolList = z
  .string()
  .transform((v) => [...new Set(v.split(',').map((s) => s.trim()).filter(Boolean))])
  .pipe(z.array(z.enum(EXEC_POOLS, { message: `each entry must be one of ${EXEC_POOLS.join(', ')}` })).min(1, 'must name at least one pool'));

const cidrList = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'each entry must be a CIDR such as 10.0.0.0/8')));

/** Every environment variable the product reads, with its default. Documented in README.md. */
export const envSchema = z.object({
  DATABASE_URL: urlWithProtocols(['postgres:', 'postgresql:']).optional(),
  REDIS_URL: urlWithProtocols(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,48}$/, 'must be 1-48 letters, digits, _ or -')
    .default('tz'),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** 0 asks the OS for a free port (tests); the bound address is logged. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  DATA_DIR: z.string().min(1).default('./data'),
  LOCAL_POSTGRES_PORT: port.default(54320),
  DB_POOL_SIZE: positiveInt.max(200).default(10),
  // 'off' behind a pooler that hands a client's transactions to different server sessions
  // (PgBouncer's transaction pooling before 1.21): docs/operations.md.
  DB_NAMED_STATEMENTS: z.enum(['on', 'off'], { message: "must be 'on' or 'off'" }).default('on'),
  API_CACHE_TTL_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  MAX_BODY_BYTES: bytes(64 * 1024 * 1024).default(2 * 1024 * 1024),
  AUDIT_RECORDER_BATCH_SIZE: positiveInt.max(20_000).default(5000),
  AUDIT_RECORDER_LEASE_MS: positiveInt.min(300).max(600_000).default(10_000),
  AUDIT_STREAM_KEEPALIVE_MS: positiveInt.max(600_000).default(15_000),
  AUDIT_STREAM_MAX_AGE_MS: positiveInt.max(86_400_000).default(600_000),
  SCHEDULER_SWEEP_INTERVAL_MS: positiveInt.min(100).max(600_000).default(2000),
  // 'default' for a pooler that refuses the `options` startup parameter (docs/operations.md).
  SCHEDULER_DB_SEQSCAN: z.enum(['off', 'default'], { message: "must be 'off' or 'default'" }).default('off'),
  // Completed exec jobs kept per pool queue, for the sweeper (docs/operations.md, Redis memory).
  SCHEDULER_EXEC_JOBS_KEPT: positiveInt.min(100).max(10_000_000).default(50_000),
  EXECUTE_WAIT_ALLOWANCE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  // Two threads per core: between two short runs a thread waits for its node's Redis round
  // trips (completing one job, taking the next, the halt check) about twice as long as it
  // runs, so one per core left the cores idle (docs/operations.md, sizing).
  SANDBOX_POOL_SIZE: positiveInt.max(256).default(2 * availableParallelism()),
  SANDBOX_TRUSTED_CIDRS: cidrList.default([]),
  SANDBOX_API_CALLS_PER_MINUTE: positiveInt.default(60),
  SANDBOX_MAX_OUTPUT_BYTES: bytes(64 * 1024 * 1024).default(1024 * 1024),
  SANDBOX_MAX_LOG_LINES: positiveInt.default(1000),
  SANDBOX_MAX_LOG_BYTES: bytes(64 * 1024 * 1024).default(1024 * 1024),
  SANDBOX_MAX_PENDING_HOST_CALLS: positiveInt.max(1024).default(16),
  SANDBOX_MAX_INPUT_BYTES: bytes(64 * 1024 * 1024).default(1024 * 1024),
  SANDBOX_HTTP_TIMEOUT_MS: positiveInt.max(300_000).default(10_000),
  SANDBOX_HTTP_MAX_REQUEST_BYTES: bytes(64 * 1024 * 1024).default(256 * 1024),
  SANDBOX_HTTP_MAX_RESPONSE_BYTES: bytes(64 * 1024 * 1024).default(1024 * 1024),
  SANDBOX_MAX_HOST_CALLS: positiveInt.max(1_000_000).default(10_000),
  SANDBOX_MAX_STACK_KB: z.coerce.number().int().min(64).max(1024).default(256),
  SANDBOX_THREAD_HEAP_MB: z.coerce.number().int().min(32).max(4096).default(128),
  SANDBOX_KILL_GRACE_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  NODE_ID: z.string().regex(NODE_ID_PATTERN, 'must be 1-64 letters, digits, ., _ or -').optional(),
  EXECUTOR_POOLS: execPoolList.optional(),
  EXECUTOR_LOCK_MS: z.coerce.number().int().min(500).max(600_000).default(15_000),
  EXECUTOR_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /** Unset: `npm start` runs a local anvil and anchors to it with its first dev account. */
  CHAIN_RPC_URL: urlWithProtocols(['http:', 'https:']).optional(),
  ANCHOR_PRIVATE_KEY: z
    .string()
    .regex(/^(0x)?[0-9a-fA-F]{64}$/, 'must be 32 bytes of hex (64 hex digits, optionally 0x-prefixed)')
    .optional(),
  ANCHOR_CONFIRMATIONS: positiveInt.max(1000).default(3),
  ANCHOR_INTERVAL_MS: positiveInt.min(100).max(86_400_000).default(300_000),
  ANCHOR_BATCH_SIZE: positiveInt.max(8_000_000).default(1_000_000),
  ANCHOR_LEASE_MS: positiveInt.min(300).max(600_000).default(30_000),
  ANCHOR_POLL_MS: positiveInt.min(50).max(60_000).default(1000),
  ANCHOR_RPC_TIMEOUT_MS: positiveInt.min(100).max(120_000).default(10_000),
  ANCHOR_REPLACE_AFTER_MS: positiveInt.min(1000).max(86_400_000).default(600_000),
  ANCHOR_MAX_FEE_GWEI: z.coerce.number().positive().max(1_000_000).default(500),
  LOCAL_CHAIN_PORT: port.default(8545),
  LOCAL_CHAIN_BLOCK_TIME_S: positiveInt.max(60).default(1),
});

export interface SandboxSettings {
  readonly poolSize: number;
  readonly trustedCidrs: readonly string[];
  readonly apiCallsPerMinute: number;
  readonly maxOutputBytes: number;
  readonly maxLogLines: number;
  readonly maxLogBytes: number;
  readonly maxPendingHostCalls: number;
  readonly maxInputBytes: number;
  readonly httpTimeoutMs: number;
  readonly httpMaxRequestBytes: number;
  readonly httpMaxResponseBytes: number;
  /** Every thetazero.* call, logs included, per run: a flood guard on top of the API-call budget. */
  readonly maxHostCalls: number;
  /** QuickJS stack limit; must stay well under the thread's native stack (see docs/sandbox.md). */
  readonly maxStackBytes: number;
  /** V8 old-generation cap of each sandbox thread (worker resourceLimits). */
  readonly threadHeapMb: number;
  /** How long past its deadline a run may take before the pool kills its thread. */
  readonly killGraceMs: number;
}

export interface AnchorSettings {
  /** Unset means "no external chain": `npm start` then runs a local anvil on localChainPort. */
  readonly rpcUrl: string | undefined;
  /** Never logged: a Secret prints as [redacted]. */
  readonly privateKey: Secret | undefined;
  readonly confirmations: number;
  readonly intervalMs: number;
  readonly batchSize: number;
  readonly leaseMs: number;
  /** How often a submitted transaction's receipt and the chain head are polled. */
  readonly pollMs: number;
  readonly rpcTimeoutMs: number;
  /** A transaction not mined after this long is replaced (same nonce, higher fees). */
  readonly replaceAfterMs: number;
  /** Fee cap per gas, in gwei. */
  readonly maxFeeGwei: number;
  readonly localChainPort: number;
  readonly localChainBlockTimeS: number;
}

export interface ExecutorSettings {
  /** Names this node in the registry, in results and in audit actors (`node:<id>`). */
  readonly nodeId: string;
  /** The exec-<pool> queues this node consumes. */
  readonly pools: readonly ExecPool[];
  /** Whether EXECUTOR_POOLS was set (npm start serves every pool otherwise). */
  readonly poolsExplicit: boolean;
  /** BullMQ lock of a running job; a dead node's jobs are noticed within about twice this. */
  readonly lockMs: number;
  /** How long SIGTERM waits for running executions before handing them back. */
  readonly shutdownGraceMs: number;
}

export interface Config {
  /** Unset means "no external PostgreSQL": `npm start` then runs an embedded one. */
  readonly databaseUrl: string | undefined;
  readonly redis: { readonly url: string; readonly prefix: string };
  readonly http: { readonly host: string; readonly port: number; readonly maxBodyBytes: number };
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly dataDir: string;
  readonly localPostgresPort: number;
  readonly dbPoolSize: number;
  /** Whether hot statements are prepared by name on each connection (DatabaseOptions.namedStatements). */
  readonly dbNamedStatements: boolean;
  readonly apiCacheTtlMs: number;
  readonly audit: {
    readonly recorderBatchSize: number;
    readonly recorderLeaseMs: number;
    readonly streamKeepaliveMs: number;
    readonly streamMaxAgeMs: number;
  };
  readonly scheduler: {
    readonly sweepIntervalMs: number;
    /**
     * Completed exec jobs kept per pool queue (besides the hour's age limit): each holds the
     * job's data and the ending message, which the sweeper reads when a report is lost.
     */
    readonly execJobsKept: number;
    /** Whether the scheduler's sessions price sequential scans out (DatabaseOptions.keyedLookupsOnly). */
    readonly keyedLookupsOnly: boolean;
  };
  /** How long a synchronous execute waits beyond the agent's time limit before answering 202. */
  readonly executeWaitAllowanceMs: number;
  readonly sandbox: SandboxSettings;
  readonly executor: ExecutorSettings;
  readonly anchor: AnchorSettings;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Parses the environment; throws ConfigError naming the first bad variable. */
/** Parses `env` with `schema`; throws ConfigError naming the first bad variable. */
function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  // An empty variable means "unset", as shells and Procfile runners often export blanks.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`configuration error: ${variable} ${issue.message}`);
  }
  return parsed.data;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const e = parseEnv(envSchema, env);
  return deepFreeze({
    databaseUrl: e.DATABASE_URL,
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    http: { host: e.HOST, port: e.PORT, maxBodyBytes: e.MAX_BODY_BYTES },
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR,
    localPostgresPort: e.LOCAL_POSTGRES_PORT,
    dbPoolSize: e.DB_POOL_SIZE,
    dbNamedStatements: e.DB_NAMED_STATEMENTS === 'on',
    apiCacheTtlMs: e.API_CACHE_TTL_MS,
    audit: {
      recorderBatchSize: e.AUDIT_RECORDER_BATCH_SIZE,
      recorderLeaseMs: e.AUDIT_RECORDER_LEASE_MS,
      streamKeepaliveMs: e.AUDIT_STREAM_KEEPALIVE_MS,
      streamMaxAgeMs: e.AUDIT_STREAM_MAX_AGE_MS,
    },
    scheduler: {
      sweepIntervalMs: e.SCHEDULER_SWEEP_INTERVAL_MS,
      keyedLookupsOnly: e.SCHEDULER_DB_SEQSCAN === 'off',
      execJobsKept: e.SCHEDULER_EXEC_JOBS_KEPT,
    },
    executeWaitAllowanceMs: e.EXECUTE_WAIT_ALLOWANCE_MS,
    sandbox: {
      poolSize: e.SANDBOX_POOL_SIZE,
      trustedCidrs: e.SANDBOX_TRUSTED_CIDRS,
      apiCallsPerMinute: e.SANDBOX_API_CALLS_PER_MINUTE,
      maxOutputBytes: e.SANDBOX_MAX_OUTPUT_BYTES,
      maxLogLines: e.SANDBOX_MAX_LOG_LINES,
      maxLogBytes: e.SANDBOX_MAX_LOG_BYTES,
      maxPendingHostCalls: e.SANDBOX_MAX_PENDING_HOST_CALLS,
      maxInputBytes: e.SANDBOX_MAX_INPUT_BYTES,
      httpTimeoutMs: e.SANDBOX_HTTP_TIMEOUT_MS,
      httpMaxRequestBytes: e.SANDBOX_HTTP_MAX_REQUEST_BYTES,
      httpMaxResponseBytes: e.SANDBOX_HTTP_MAX_RESPONSE_BYTES,
      maxHostCalls: e.SANDBOX_MAX_HOST_CALLS,
      maxStackBytes: e.SANDBOX_MAX_STACK_KB * 1024,
      threadHeapMb: e.SANDBOX_THREAD_HEAP_MB,
      killGraceMs: e.SANDBOX_KILL_GRACE_MS,
    },
    executor: {
      nodeId: e.NODE_ID ?? defaultNodeId(),
      pools: e.EXECUTOR_POOLS ?? ['standard'],
      poolsExplicit: e.EXECUTOR_POOLS !== undefined,
      lockMs: e.EXECUTOR_LOCK_MS,
      shutdownGraceMs: e.EXECUTOR_SHUTDOWN_GRACE_MS,
    },
    anchor: {
      rpcUrl: e.CHAIN_RPC_URL,
      privateKey: e.ANCHOR_PRIVATE_KEY === undefined ? undefined : new Secret(e.ANCHOR_PRIVATE_KEY),
      confirmations: e.ANCHOR_CONFIRMATIONS,
      intervalMs: e.ANCHOR_INTERVAL_MS,
      batchSize: e.ANCHOR_BATCH_SIZE,
      leaseMs: e.ANCHOR_LEASE_MS,
      pollMs: e.ANCHOR_POLL_MS,
      rpcTimeoutMs: e.ANCHOR_RPC_TIMEOUT_MS,
      replaceAfterMs: e.ANCHOR_REPLACE_AFTER_MS,
      maxFeeGwei: e.ANCHOR_MAX_FEE_GWEI,
      localChainPort: e.LOCAL_CHAIN_PORT,
      localChainBlockTimeS: e.LOCAL_CHAIN_BLOCK_TIME_S,
    },
  });
}

/** For roles that cannot run without an external database (everything but `npm start`). */
export function requireDatabaseUrl(config: Config): string {
  if (!config.databaseUrl) throw new ConfigError('configuration error: DATABASE_URL is required for this process');
  return config.databaseUrl;
}

/** Sizes of the benchmarks in ops/bench (`npm run bench`); smaller values make quick runs. */
export const benchEnvSchema = z.object({
  BENCH_API_SECONDS: positiveInt.max(600).default(10),
  BENCH_AUDIT_EVENTS: positiveInt.max(10_000_000).default(100_000),
  BENCH_SSE_SUBSCRIBERS: positiveInt.max(20_000).default(1000),
  BENCH_PIPELINE_EXECUTIONS: positiveInt.max(1_000_000).default(20_000),
  BENCH_PIPELINE_SYNC_SAMPLES: positiveInt.max(100_000).default(300),
  BENCH_PIPELINE_KILL_SAMPLES: positiveInt.max(10_000).default(50),
  BENCH_PIPELINE_WARMUP_EXECUTIONS: z.coerce.number().int().min(0).max(1_000_000).default(3000),
  BENCH_NODE_EXECUTIONS: positiveInt.max(1_000_000).default(10_000),
  BENCH_ANCHOR_SAMPLES: positiveInt.max(10_000).default(12),
  BENCH_ANCHOR_RECORDS: positiveInt.max(8_000_000).default(100_000),
});

export interface BenchSettings {
  readonly apiSeconds: number;
  readonly auditEvents: number;
  readonly sseSubscribers: number;
  readonly pipelineExecutions: number;
  readonly pipelineSyncSamples: number;
  readonly pipelineKillSamples: number;
  /** Async executions run before anything is timed, so the processes' code is optimised (JIT) as in a long-running deployment. */
  readonly pipelineWarmupExecutions: number;
  readonly nodeExecutions: number;
  readonly anchorSamples: number;
  readonly anchorRecords: number;
  /** The benchmark process's own environment, for the child processes it starts. */
  readonly childEnv: Readonly<Record<string, string | undefined>>;
}

export function loadBenchSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const e = parseEnv(benchEnvSchema, env);
  return deepFreeze({
    apiSeconds: e.BENCH_API_SECONDS,
    auditEvents: e.BENCH_AUDIT_EVENTS,
    sseSubscribers: e.BENCH_SSE_SUBSCRIBERS,
    pipelineExecutions: e.BENCH_PIPELINE_EXECUTIONS,
    pipelineSyncSamples: e.BENCH_PIPELINE_SYNC_SAMPLES,
    pipelineKillSamples: e.BENCH_PIPELINE_KILL_SAMPLES,
    pipelineWarmupExecutions: e.BENCH_PIPELINE_WARMUP_EXECUTIONS,
    nodeExecutions: e.BENCH_NODE_EXECUTIONS,
    anchorSamples: e.BENCH_ANCHOR_SAMPLES,
    anchorRecords: e.BENCH_ANCHOR_RECORDS,
    childEnv: { ...env },
  });
}

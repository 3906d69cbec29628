// The only module that reads process.env. Parsed once at start into a frozen object
// that is passed down; a bad value stops the process with one line naming the variable.
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

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
  API_CACHE_TTL_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  MAX_BODY_BYTES: bytes(64 * 1024 * 1024).default(2 * 1024 * 1024),
  AUDIT_RECORDER_BATCH_SIZE: positiveInt.max(20_000).default(5000),
  AUDIT_RECORDER_LEASE_MS: positiveInt.min(300).max(600_000).default(10_000),
  AUDIT_STREAM_KEEPALIVE_MS: positiveInt.max(600_000).default(15_000),
  AUDIT_STREAM_MAX_AGE_MS: positiveInt.max(86_400_000).default(600_000),
  SANDBOX_POOL_SIZE: positiveInt.max(256).default(availableParallelism()),
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

export interface Config {
  /** Unset means "no external PostgreSQL": `npm start` then runs an embedded one. */
  readonly databaseUrl: string | undefined;
  readonly redis: { readonly url: string; readonly prefix: string };
  readonly http: { readonly host: string; readonly port: number; readonly maxBodyBytes: number };
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly dataDir: string;
  readonly localPostgresPort: number;
  readonly dbPoolSize: number;
  readonly apiCacheTtlMs: number;
  readonly audit: {
    readonly recorderBatchSize: number;
    readonly recorderLeaseMs: number;
    readonly streamKeepaliveMs: number;
    readonly streamMaxAgeMs: number;
  };
  readonly sandbox: SandboxSettings;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Parses the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "unset", as shells and Procfile runners often export blanks.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`configuration error: ${variable} ${issue.message}`);
  }
  const e = parsed.data;
  return deepFreeze({
    databaseUrl: e.DATABASE_URL,
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    http: { host: e.HOST, port: e.PORT, maxBodyBytes: e.MAX_BODY_BYTES },
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR,
    localPostgresPort: e.LOCAL_POSTGRES_PORT,
    dbPoolSize: e.DB_POOL_SIZE,
    apiCacheTtlMs: e.API_CACHE_TTL_MS,
    audit: {
      recorderBatchSize: e.AUDIT_RECORDER_BATCH_SIZE,
      recorderLeaseMs: e.AUDIT_RECORDER_LEASE_MS,
      streamKeepaliveMs: e.AUDIT_STREAM_KEEPALIVE_MS,
      streamMaxAgeMs: e.AUDIT_STREAM_MAX_AGE_MS,
    },
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
  });
}

/** For roles that cannot run without an external database (everything but `npm start`). */
export function requireDatabaseUrl(config: Config): string {
  if (!config.databaseUrl) throw new ConfigError('configuration error: DATABASE_URL is required for this process');
  return config.databaseUrl;
}

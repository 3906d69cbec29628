// The shapes the SDK hands to callers (camelCase), and the server's wire shapes it reads.
import type { AgentPresetName, AgentScope } from './generated/agent-presets.js';

export type SandboxTemplate = 'STRICT' | 'STANDARD' | 'DEV';

export interface AgentLimits {
  readonly maxMemoryMb?: number;
  readonly maxExecutionTimeSec?: number;
  readonly maxApiCallsPerRun?: number;
}

export interface SecureAgentOptions {
  /** An API key, `tzk_...`. */
  readonly apiKey: string;
  /** An existing agent's id; without it, configure() upserts by name. */
  readonly agentId?: number;
  readonly name?: string;
  readonly version?: string;
  readonly description?: string;
  /** The JavaScript the sandbox runs; `input` holds run()'s argument. */
  readonly entryCode?: string;
  /** A scope list or a preset name; default READONLY. */
  readonly permissions?: readonly AgentScope[] | AgentPresetName;
  readonly limits?: AgentLimits;
  /** Default STANDARD. */
  readonly sandbox?: SandboxTemplate;
  readonly allowNetwork?: boolean;
  readonly allowedDomains?: readonly string[];
  /** Accepted and kept for the compliance endpoints of a later release; unused today. */
  readonly compliance?: readonly string[];
  /** Default THETAZERO_BASE_URL, else http://127.0.0.1:8080. */
  readonly baseUrl?: string;
  /** Per-request timeout in ms (default 30000); a synchronous run waits longer. */
  readonly timeoutMs?: number;
  /** Retries of GET requests on 429, 503 or a network error (default 3). */
  readonly maxRetries?: number;
}

export interface ResourceUsage {
  readonly cpu_ms?: number;
  readonly memory_mb?: number;
  readonly api_calls?: number;
  readonly host_calls?: number;
}

export interface HostCallRecord {
  readonly fn: string;
  readonly allowed: boolean;
  readonly duration_ms?: number;
  readonly [key: string]: unknown;
}

export type ExecutionStatus =
  | 'queued' | 'dispatched' | 'running'
  | 'completed' | 'failed' | 'timed_out' | 'terminated' | 'limit_exceeded' | 'rate_limited' | 'halted' | 'node_lost';

export interface ExecutionResult {
  readonly executionId: number;
  readonly agentId: number;
  readonly status: ExecutionStatus;
  readonly output: unknown;
  readonly error: { readonly code: string; readonly message: string; readonly stack?: string | null } | null;
  readonly durationMs: number | null;
  /** Absolute URL of this execution's audit records. */
  readonly auditTrailUrl: string;
  readonly resourceUsage: ResourceUsage;
  readonly hostCallAudit: readonly HostCallRecord[];
  readonly logs: readonly unknown[];
  readonly violationCount: number;
  readonly wasTerminated: boolean;
  readonly nodeId: string | null;
  readonly queuedAt: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export interface ExecutionSummary extends Omit<ExecutionResult, 'output' | 'hostCallAudit' | 'logs'> {}

export interface ExecutionPage {
  readonly executions: ExecutionSummary[];
  readonly total: number;
  readonly page: number;
  readonly limit: number;
}

export interface AgentRecord {
  readonly id: number;
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly status: string;
  readonly swarm: string | null;
  readonly permissions: AgentScope[];
  readonly permissions_preset?: AgentPresetName;
  readonly config: {
    readonly memory_limit_mb: number;
    readonly cpu_time_limit_ms: number;
    readonly max_api_calls_per_run: number;
    readonly allow_network: boolean;
    readonly allow_filesystem: boolean;
    readonly sandbox_template: SandboxTemplate;
    readonly allowed_domains: string[];
  };
  readonly content_safety: boolean;
  readonly halt_reason: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly entry_code?: string;
}

export interface AuditRecord {
  readonly id: number;
  readonly sequence: number;
  readonly recorded_at: string;
  readonly event_id: string;
  readonly agent_id: number | null;
  readonly execution_id: number | null;
  readonly actor: string;
  readonly action_type: string;
  readonly action_category: string;
  readonly description: string;
  readonly input_summary: string | null;
  readonly output_summary: string | null;
  readonly permission_state: Record<string, unknown>;
  readonly is_violation: boolean;
  readonly prev_hash: string;
  readonly hash: string;
}

export interface AuditQuery {
  /** `YYYY-MM-DD` (the whole UTC day) or an ISO date-time; inclusive. */
  readonly from?: string | Date;
  readonly to?: string | Date;
  readonly actionTypes?: readonly string[];
  readonly violationsOnly?: boolean;
  readonly limit?: number;
  readonly cursor?: string;
  /** Default: this agent's records once it is configured; `null` for the whole account. */
  readonly agentId?: number | null;
  readonly executionId?: number;
}

export interface AuditLogPage {
  readonly events: AuditRecord[];
  readonly total: number;
  readonly anchored: boolean;
  readonly nextCursor: string | null;
}

export interface AuditStreamOptions {
  /** Default: this agent once configured; `null` for the whole account. */
  readonly agentId?: number | null;
  readonly executionId?: number;
  /** Replay records from this instant. */
  readonly since?: string | Date;
  /** Resume after this record id. */
  readonly lastEventId?: string | number;
  readonly onError?: (err: import('./sdk-error.js').SDKError) => void;
}

/** A live event of one execution: an audit record (SSE) or a progress frame (WebSocket). */
export interface ProgressEvent {
  /** `audit` over SSE; `status`, `log`, `host_call` or `result` over the WebSocket. */
  readonly type: string;
  readonly executionId: number;
  readonly transport: 'sse' | 'websocket';
  readonly data: Record<string, unknown>;
}

export type ProgressListener = (event: ProgressEvent) => void;

export interface WireExecution {
  execution_id: number;
  agent_id: number;
  status: ExecutionStatus;
  output?: unknown;
  error?: ExecutionResult['error'];
  resource_usage?: ResourceUsage;
  host_call_audit?: HostCallRecord[];
  logs?: unknown[];
  violation_count?: number;
  was_terminated?: boolean;
  node_id?: string | null;
  queued_at?: string | null;
  started_at?: string | null;
  finished_at?: string | null;
  duration_ms?: number | null;
  audit_trail_url: string;
  poll_url?: string;
}

// The result of one sandboxed execution, in the product page's shape. Statuses, error
// codes and violation kinds are part of the public API (docs/sandbox.md lists them all).

import { SANDBOX_STATUSES } from '../../shared/execution/statuses.ts';

export { SANDBOX_STATUSES };

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type SandboxStatus = (typeof SANDBOX_STATUSES)[number];

export const SANDBOX_ERROR_CODES = [
  // The agent's own code.
  'guest_error',
  'syntax_error',
  'invalid_output',
  'unsettled_promise',
  // A limit (status limit_exceeded, timed_out or rate_limited).
  'cpu_time_limit_exceeded',
  'memory_limit_exceeded',
  'stack_limit_exceeded',
  'input_too_large',
  'output_too_large',
  'log_limit_exceeded',
  'api_call_budget_exhausted',
  'host_call_limit_exceeded',
  'pending_host_calls_exceeded',
  'rate_limit_exceeded',
  'thread_memory_limit_exceeded',
  // Stopped from outside (kill switch, shutdown).
  'terminated',
  // The sandbox itself failed; the agent's code may not be at fault.
  'sandbox_fault',
] as const;
export type SandboxErrorCode = (typeof SANDBOX_ERROR_CODES)[number];

export const VIOLATION_KINDS = ['sandbox_limit_hit', 'rate_limit_hit', 'permission_denied'] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export const LOG_LEVELS = ['info', 'warn', 'error', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface SandboxError {
  readonly code: SandboxErrorCode;
  readonly message: string;
  /** The guest's stack when the agent's code threw; null otherwise. Truncated. */
  readonly stack: string | null;
}

export interface ResourceUsage {
  /** Time the thread spent executing guest code (QuickJS), in ms. */
  readonly cpu_ms: number;
  /** Largest of QuickJS's estimate of live guest objects at the end and the heap growth during the run, in MB. */
  readonly memory_mb: number;
  /** http_request and read_context calls that were let through. */
  readonly api_calls: number;
  /** Every thetazero.* function call, log lines and denied calls included. */
  readonly host_calls: number;
}

export interface HostCallAuditEntry {
  /** Position among this run's audited calls, from 1. */
  readonly seq: number;
  readonly fn: string;
  /** Truncated, with authorization headers and secret-looking values redacted. */
  readonly args: Record<string, JsonValue>;
  /** When the call was made (ISO 8601). */
  readonly timestamp: string;
  readonly allowed: boolean;
  /** Why the call was denied; null when allowed. */
  readonly reason: string | null;
  /** Why an allowed call failed (timeout, network_error...); null when it succeeded. */
  readonly error: string | null;
  readonly duration_ms: number;
}

export interface LogLine {
  readonly level: LogLevel;
  readonly message: string;
  readonly time: string;
}

export interface SandboxViolation {
  readonly kind: ViolationKind;
  readonly code: string;
  readonly message: string;
  readonly timestamp: string;
  /** The host function involved, when there was one. */
  readonly fn: string | null;
}

export interface SandboxResult {
  readonly execution_id: number;
  readonly status: SandboxStatus;
  /** The entry code's return value, else the last write_result; null when neither. */
  readonly output: JsonValue | null;
  readonly error: SandboxError | null;
  readonly resource_usage: ResourceUsage;
  readonly host_call_audit: readonly HostCallAuditEntry[];
  readonly logs: readonly LogLine[];
  readonly violation_count: number;
  /** Every limit hit and denied call, in order: what the audit trail records as events. */
  readonly violations: readonly SandboxViolation[];
  /** True when the run was cut off from outside its own code: timed_out or terminated. */
  readonly was_terminated: boolean;
  /** Wall-clock time from the start of the run to its result, in ms. */
  readonly duration_ms: number;
}

/** Live progress of a run, as it happens (the result carries the same entries). */
export type SandboxEvent =
  | { readonly type: 'log'; readonly line: LogLine }
  | { readonly type: 'host_call'; readonly entry: HostCallAuditEntry }
  | { readonly type: 'violation'; readonly violation: SandboxViolation };

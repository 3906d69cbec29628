// Why a run ended before its code finished, and which violation that is. Thread side
// and pool side both build these, so a limit reads the same wherever it was caught.
import type { SandboxErrorCode, SandboxStatus, ViolationKind } from './sandbox-result.ts';

export interface RunStop {
  readonly status: Exclude<SandboxStatus, 'completed'>;
  readonly code: SandboxErrorCode;
  readonly message: string;
  /** The host function whose call hit the limit, when one did. */
  readonly fn?: string;
}

/** Thrown by host code to end the run; the engine turns it into the run's outcome. */
export class RunStopError extends Error {
  override readonly name = 'RunStopError';
  constructor(readonly stop: RunStop) {
    super(stop.message);
  }
}

export function limitExceeded(code: SandboxErrorCode, message: string, fn?: string): RunStop {
  return fn === undefined ? { status: 'limit_exceeded', code, message } : { status: 'limit_exceeded', code, message, fn };
}

export function timedOut(limitMs: number): RunStop {
  return { status: 'timed_out', code: 'cpu_time_limit_exceeded', message: `cpu_time_limit_ms (${limitMs} ms) exceeded` };
}

export function terminatedStop(reason = 'execution terminated from outside'): RunStop {
  return { status: 'terminated', code: 'terminated', message: reason };
}

/** Limit hits are violations; an outside termination and the agent's own errors are not. */
export function violationKindOf(stop: RunStop): ViolationKind | null {
  if (stop.status === 'rate_limited') return 'rate_limit_hit';
  if (stop.status === 'limit_exceeded' || stop.status === 'timed_out') return 'sandbox_limit_hit';
  return null;
}

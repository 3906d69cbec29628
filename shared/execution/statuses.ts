// Execution statuses. The sandbox's own statuses pass through unchanged; the pipeline adds
// the ones before a run and the ones that end an execution without a run.

/** How a sandbox run ends (docs/sandbox.md); also part of the public API. */
export const SANDBOX_STATUSES = ['completed', 'failed', 'timed_out', 'terminated', 'limit_exceeded', 'rate_limited'] as const;
export const PENDING_STATUSES = ['queued', 'dispatched', 'running'] as const;
export const FINAL_STATUSES = [...SANDBOX_STATUSES, 'halted', 'node_lost'] as const;
export const EXECUTION_STATUSES = [...PENDING_STATUSES, ...FINAL_STATUSES] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export type FinalStatus = (typeof FINAL_STATUSES)[number];

export function isFinal(status: string): status is FinalStatus {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}

// Execution statuses. The sandbox's own statuses pass through unchanged; the pipeline adds
// the ones before a run and the ones that end an execution without a run.

export const PENDING_STATUSES = ['queued', 'dispatched', 'running'] as const;
export const FINAL_STATUSES = [
  'completed',
  'failed',
  'timed_out',
  'terminated',
  'limit_exceeded',
  'rate_limited',
  'halted',
  'node_lost',
] as const;
export const EXECUTION_STATUSES = [...PENDING_STATUSES, ...FINAL_STATUSES] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export type FinalStatus = (typeof FINAL_STATUSES)[number];

export function isFinal(status: string): status is FinalStatus {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}

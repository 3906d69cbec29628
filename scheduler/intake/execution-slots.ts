// Rate-limit slots of executions about to be dispatched: the swarm's hourly window, the
// account's per-minute window and the agent's concurrency set, taken together or not at
// all by acquire-execution-slot-3.lua, for a whole batch in one pipelined round trip.
// The finisher gives the concurrency slot back when the execution ends; should that be
// lost, the slot expires after the run's time limit plus SLOT_GRACE_MS.
import type { Redis } from 'ioredis';
import { slotDecision, type EffectiveLimits, type SlotDecision } from '../../shared/execution/rate-limits.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import { scriptPipeline } from '../../shared/redis/scripts/index.ts';

/** Slots expire on their own after the run's time limit plus this, should a release be lost. */
export const SLOT_GRACE_MS = 5 * 60 * 1000;

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

export interface SlotRequest {
  readonly executionId: number;
  readonly accountId: number;
  readonly agentId: number;
  /** null: the agent has no swarm. */
  readonly swarm: string | null;
  /** Its swarmExecutionsPerHour is null exactly when there is no swarm (effectiveLimits): no swarm window is touched then. */
  readonly limits: EffectiveLimits;
  /** The run's own time limit; the slot outlives it by SLOT_GRACE_MS. */
  readonly timeLimitMs: number;
}

/**
 * One decision per request, in order. Each script call is atomic on its own, so requests
 * racing from several schedulers never overshoot a limit; asking again for an execution
 * that holds its slot is granted without taking a second one.
 */
export async function acquireExecutionSlots(redis: Redis, keys: RedisKeys, requests: readonly SlotRequest[], now = Date.now()): Promise<SlotDecision[]> {
  if (requests.length === 0) return [];
  const { pipeline, add } = scriptPipeline(redis);
  for (const request of requests) {
    const { swarmExecutionsPerHour, accountExecutionsPerMinute, agentConcurrency } = request.limits;
    add(
      'acquire-execution-slot-3',
      [
        keys.swarmWindowKey(request.accountId, request.swarm ?? '-'),
        keys.accountWindowKey(request.accountId),
        keys.agentRunningKey(request.accountId, request.agentId),
      ],
      [
        now,
        String(request.executionId),
        swarmExecutionsPerHour ?? -1,
        HOUR_MS,
        accountExecutionsPerMinute,
        MINUTE_MS,
        agentConcurrency,
        request.timeLimitMs + SLOT_GRACE_MS,
      ],
    );
  }
  const replies = (await pipeline.exec()) ?? [];
  return requests.map((request, i) => {
    const [err, reply] = replies[i] ?? [new Error('no reply from the slot script'), null];
    if (err) throw err;
    return slotDecision(Number(reply), request.limits, request.swarm);
  });
}

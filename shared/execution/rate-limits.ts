// Execution rate limits: the defaults, the effective limits of one execution, and the
// mapping of the slot script's answers. Pure; the Redis side is scheduler/intake/execution-slots.ts.

export const DEFAULT_LIMITS = Object.freeze({
  /** The product page's "Swarm executions / hour". */
  swarmExecutionsPerHour: 10,
  accountExecutionsPerMinute: 600,
  agentConcurrency: 50,
});

export interface EffectiveLimits {
  /** null: the agent has no swarm, so no swarm limit applies. */
  readonly swarmExecutionsPerHour: number | null;
  readonly accountExecutionsPerMinute: number;
  readonly agentConcurrency: number;
}

/** The operator-set values of one rate_limits row (null: not set). */
export interface LimitSettingsRow {
  readonly executions_per_hour: number | null;
  readonly executions_per_minute: number | null;
  readonly concurrency: number | null;
}

/**
 * The limits one execution runs under: the account row ('' swarm) sets per-minute, agent
 * concurrency and the default per-swarm hourly limit; a swarm row overrides the hourly limit.
 */
export function effectiveLimits(swarm: string | null, account: LimitSettingsRow | undefined, swarmPerHour: number | null | undefined): EffectiveLimits {
  return {
    swarmExecutionsPerHour: swarm ? (swarmPerHour ?? account?.executions_per_hour ?? DEFAULT_LIMITS.swarmExecutionsPerHour) : null,
    accountExecutionsPerMinute: account?.executions_per_minute ?? DEFAULT_LIMITS.accountExecutionsPerMinute,
    agentConcurrency: account?.concurrency ?? DEFAULT_LIMITS.agentConcurrency,
  };
}

export type SlotDecision =
  | { granted: true }
  | { granted: false; code: 'swarm_rate_limited' | 'account_rate_limited' | 'agent_concurrency_limited'; message: string };

export function slotDecision(reply: number, limits: EffectiveLimits, swarm: string | null): SlotDecision {
  switch (reply) {
    case 0:
      return { granted: true };
    case -1:
      return { granted: false, code: 'swarm_rate_limited', message: `swarm ${swarm} reached ${limits.swarmExecutionsPerHour} executions per hour` };
    case -2:
      return { granted: false, code: 'account_rate_limited', message: `account reached ${limits.accountExecutionsPerMinute} executions per minute` };
    case -3:
      return { granted: false, code: 'agent_concurrency_limited', message: `agent reached ${limits.agentConcurrency} concurrent executions` };
    default:
      throw new Error(`unexpected slot script reply ${reply}`);
  }
}

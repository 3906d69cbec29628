// The limits one run executes under: the agent's own (memory, time, API budget) from its
// resolved config, the rest from the operator's SANDBOX_* settings. The operator's part
// goes to each thread once, at start; only the agent's part travels with every task.
import type { SandboxSettings } from '../../shared/config.ts';
import type { AgentConfig } from '../../shared/sandbox-templates.ts';

export interface AgentLimits {
  readonly memoryLimitBytes: number;
  readonly timeLimitMs: number;
  readonly maxApiCallsPerRun: number;
}

export interface OperatorLimits {
  readonly apiCallsPerMinute: number;
  readonly maxOutputBytes: number;
  readonly maxLogLines: number;
  readonly maxLogBytes: number;
  readonly maxPendingHostCalls: number;
  readonly maxHostCalls: number;
  readonly maxStackBytes: number;
  /** Values read_context copies in are bounded like the input. */
  readonly maxContextValueBytes: number;
  readonly httpTimeoutMs: number;
  readonly httpMaxRequestBytes: number;
  readonly httpMaxResponseBytes: number;
}

export type RunLimits = AgentLimits & OperatorLimits;

export function agentLimits(config: AgentConfig): AgentLimits {
  return {
    memoryLimitBytes: config.memory_limit_mb * 1024 * 1024,
    timeLimitMs: config.cpu_time_limit_ms,
    maxApiCallsPerRun: config.max_api_calls_per_run,
  };
}

export function operatorLimits(settings: SandboxSettings): OperatorLimits {
  return {
    apiCallsPerMinute: settings.apiCallsPerMinute,
    maxOutputBytes: settings.maxOutputBytes,
    maxLogLines: settings.maxLogLines,
    maxLogBytes: settings.maxLogBytes,
    maxPendingHostCalls: settings.maxPendingHostCalls,
    maxHostCalls: settings.maxHostCalls,
    maxStackBytes: settings.maxStackBytes,
    maxContextValueBytes: settings.maxInputBytes,
    httpTimeoutMs: settings.httpTimeoutMs,
    httpMaxRequestBytes: settings.httpMaxRequestBytes,
    httpMaxResponseBytes: settings.httpMaxResponseBytes,
  };
}

export function runLimitsFor(config: AgentConfig, settings: SandboxSettings): RunLimits {
  return { ...operatorLimits(settings), ...agentLimits(config) };
}

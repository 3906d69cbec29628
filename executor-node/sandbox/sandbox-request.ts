// What the executor node hands the sandbox pool for one execution, and its schema: the
// request is assembled from queue data, so the pool validates it before anything runs.
import { z } from 'zod';
import { AGENT_SCOPES, type AgentScope } from '../../shared/permissions/agent-scopes.ts';
import { CONFIG_BOUNDS, SANDBOX_TEMPLATE_NAMES, type AgentConfig } from '../../shared/sandbox-templates.ts';
import type { JsonValue, SandboxEvent } from './sandbox-result.ts';

export const MAX_ENTRY_CODE_CHARS = 1024 * 1024;

/**
 * Answers thetazero.read_context for one execution. The executor node implements it over
 * Redis; `tz sandbox run` uses nullContextReader. Throwing makes the guest's call fail
 * with context_unavailable (audited); it never fails the run by itself.
 */
export interface ContextReader {
  read(key: string): Promise<JsonValue | null>;
}

export const nullContextReader: ContextReader = Object.freeze({ read: async () => null });

export interface SandboxAgent {
  readonly name: string;
  readonly version: string;
  readonly entryCode: string;
  /** The resolved config (resolveAgentConfig), not the raw request body. */
  readonly config: AgentConfig;
  readonly permissions: readonly AgentScope[];
}

export interface SandboxRequest {
  readonly executionId: number;
  readonly agent: SandboxAgent;
  /** Any JSON value; copied into the guest as a frozen `input`. */
  readonly input: unknown;
  readonly contextReader?: ContextReader;
  /**
   * Live progress: log lines, audited host calls and violations as they happen. Called on
   * the pool's thread; must not throw (errors are logged and ignored).
   */
  readonly onEvent?: (event: SandboxEvent) => void;
}

const bounded = (b: { min: number; max: number }) => z.number().int().min(b.min).max(b.max);

export const agentConfigSchema: z.ZodType<AgentConfig> = z.object({
  memory_limit_mb: bounded(CONFIG_BOUNDS.memory_limit_mb),
  cpu_time_limit_ms: bounded(CONFIG_BOUNDS.cpu_time_limit_ms),
  max_api_calls_per_run: bounded(CONFIG_BOUNDS.max_api_calls_per_run),
  allow_network: z.boolean(),
  allow_filesystem: z.boolean(),
  sandbox_template: z.enum(SANDBOX_TEMPLATE_NAMES),
  allowed_domains: z.array(z.string().min(1).max(253)).max(CONFIG_BOUNDS.allowed_domains.max),
});

export const sandboxRequestSchema = z.object({
  executionId: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  agent: z.object({
    name: z.string().min(1).max(200),
    version: z.string().max(64),
    entryCode: z.string().max(MAX_ENTRY_CODE_CHARS),
    config: agentConfigSchema,
    permissions: z.array(z.enum(AGENT_SCOPES)).max(AGENT_SCOPES.length * 4),
  }),
});

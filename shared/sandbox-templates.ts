// Sandbox policy templates and the resolution of an agent's effective config.
// Pure functions: the API validates the shape, this decides the values.

export const SANDBOX_TEMPLATE_NAMES = ['STRICT', 'STANDARD', 'DEV'] as const;
export type SandboxTemplateName = (typeof SANDBOX_TEMPLATE_NAMES)[number];

export interface SandboxTemplate {
  readonly memory_limit_mb: number;
  readonly cpu_time_limit_ms: number;
  readonly max_api_calls_per_run: number;
  /** Whether an agent under this template may enable outbound network at all. */
  readonly network_permitted: boolean;
  readonly content_safety: boolean;
  /** Executions must run on attested (TEE pool) nodes. */
  readonly requires_attestation: boolean;
}

export const SANDBOX_TEMPLATES: Readonly<Record<SandboxTemplateName, SandboxTemplate>> = Object.freeze({
  STRICT: Object.freeze({
    memory_limit_mb: 256,
    cpu_time_limit_ms: 120_000,
    max_api_calls_per_run: 50,
    network_permitted: false,
    content_safety: true,
    requires_attestation: true,
  }),
  STANDARD: Object.freeze({
    memory_limit_mb: 512,
    cpu_time_limit_ms: 300_000,
    max_api_calls_per_run: 100,
    network_permitted: true,
    content_safety: true,
    requires_attestation: false,
  }),
  DEV: Object.freeze({
    memory_limit_mb: 2048,
    cpu_time_limit_ms: 600_000,
    max_api_calls_per_run: 500,
    network_permitted: true,
    content_safety: false,
    requires_attestation: false,
  }),
});

/** The product page's AgentConfig defaults, used when the body names no template. */
export const DEFAULT_AGENT_CONFIG = Object.freeze({
  memory_limit_mb: 128,
  cpu_time_limit_ms: 30_000,
  max_api_calls_per_run: 50,
  allow_network: false,
  allow_filesystem: false,
  allowed_domains: Object.freeze([] as string[]),
});

export const CONFIG_BOUNDS = Object.freeze({
  memory_limit_mb: { min: 16, max: 4096 },
  cpu_time_limit_ms: { min: 10, max: 3_600_000 },
  max_api_calls_per_run: { min: 0, max: 10_000 },
  allowed_domains: { max: 100 },
});

export interface AgentConfig {
  memory_limit_mb: number;
  cpu_time_limit_ms: number;
  max_api_calls_per_run: number;
  allow_network: boolean;
  allow_filesystem: boolean;
  sandbox_template: SandboxTemplateName;
  allowed_domains: string[];
}

export type AgentConfigInput = Partial<AgentConfig>;

export type ConfigResolution =
  | { ok: true; config: AgentConfig }
  | { ok: false; field: string; message: string };

/**
 * Resolves the effective config: explicit values win, then the named template's,
 * then the product page's defaults. Network stays off unless asked for (deny by
 * default), and a template that blocks network refuses the request outright rather
 * than silently dropping it.
 */
export function resolveAgentConfig(input: AgentConfigInput): ConfigResolution {
  const templateName = input.sandbox_template;
  const base = templateName
    ? {
        memory_limit_mb: SANDBOX_TEMPLATES[templateName].memory_limit_mb,
        cpu_time_limit_ms: SANDBOX_TEMPLATES[templateName].cpu_time_limit_ms,
        max_api_calls_per_run: SANDBOX_TEMPLATES[templateName].max_api_calls_per_run,
      }
    : DEFAULT_AGENT_CONFIG;
  const template = SANDBOX_TEMPLATES[templateName ?? 'STANDARD'];
  const allowNetwork = input.allow_network ?? false;
  if (allowNetwork && !template.network_permitted) {
    return {
      ok: false,
      field: 'config.allow_network',
      message: `sandbox template ${templateName} blocks network access; use STANDARD or DEV to allow it`,
    };
  }
  if (input.allowed_domains && input.allowed_domains.length > 0 && !allowNetwork) {
    return {
      ok: false,
      field: 'config.allowed_domains',
      message: 'allowed_domains requires allow_network: true',
    };
  }
  return {
    ok: true,
    config: {
      memory_limit_mb: input.memory_limit_mb ?? base.memory_limit_mb,
      cpu_time_limit_ms: input.cpu_time_limit_ms ?? base.cpu_time_limit_ms,
      max_api_calls_per_run: input.max_api_calls_per_run ?? base.max_api_calls_per_run,
      allow_network: allowNetwork,
      allow_filesystem: input.allow_filesystem ?? false,
      sandbox_template: templateName ?? 'STANDARD',
      allowed_domains: [...new Set((input.allowed_domains ?? []).map((d) => d.toLowerCase()))],
    },
  };
}

// The shape of an agent config as clients give it (every field optional, bounded), shared
// by the REST API and `tz sandbox run` so both refuse exactly the same configs.
import { z } from 'zod';
import { CONFIG_BOUNDS, SANDBOX_TEMPLATE_NAMES } from './sandbox-templates.ts';

export const DOMAIN_PATTERN = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/i;

const bounded = (field: keyof typeof CONFIG_BOUNDS) => {
  const b = CONFIG_BOUNDS[field] as { min: number; max: number };
  return z.number().int().min(b.min).max(b.max);
};

export const agentConfigInput = z
  .object({
    memory_limit_mb: bounded('memory_limit_mb').optional(),
    cpu_time_limit_ms: bounded('cpu_time_limit_ms').optional(),
    max_api_calls_per_run: bounded('max_api_calls_per_run').optional(),
    allow_network: z.boolean().optional(),
    allow_filesystem: z.boolean().optional(),
    sandbox_template: z.enum(SANDBOX_TEMPLATE_NAMES).optional(),
    allowed_domains: z
      .array(z.string().regex(DOMAIN_PATTERN, 'must be a host name such as api.example.com or *.example.com'))
      .max(CONFIG_BOUNDS.allowed_domains.max)
      .optional(),
  })
  .strict();


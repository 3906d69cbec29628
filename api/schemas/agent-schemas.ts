// Request and response shapes of the agent registry, as on the product page.
import { z } from 'zod';
import { AGENT_SCOPES } from '../../shared/permissions/agent-scopes.ts';
import { AGENT_PRESET_NAMES } from '../../shared/permissions/agent-presets.ts';
import { SANDBOX_TEMPLATE_NAMES } from '../../shared/sandbox-templates.ts';
import { agentConfigInput } from '../../shared/agent-config-schema.ts';
import { AGENT_STATUSES } from '../../shared/db/entities/agent.ts';
import { idString, intFromQuery, timestamp } from './common.ts';

export const AGENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const AGENT_VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,31}$/;
export const SWARM_NAME_PATTERN = AGENT_NAME_PATTERN;
export const CONTEXT_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

export const AGENT_LIMITS = Object.freeze({
  entryCodeChars: 256 * 1024,
  descriptionChars: 2000,
  contextValueBytes: 256 * 1024,
});

/** Statuses a client may set; `halted` is entered only through the kill switch. */
export const CLIENT_AGENT_STATUSES = ['draft', 'ready', 'disabled'] as const;

function describePermissionsError(input: unknown): string {
  if (typeof input === 'string') return `unknown preset "${input}"; presets: ${AGENT_PRESET_NAMES.join(', ')}`;
  if (Array.isArray(input)) {
    const bad = input.find((s) => typeof s !== 'string' || !(AGENT_SCOPES as readonly string[]).includes(s));
    if (bad !== undefined) return `unknown agent scope ${JSON.stringify(bad)}; scopes: ${AGENT_SCOPES.join(', ')}`;
    return `at most ${AGENT_SCOPES.length * 2} scopes`;
  }
  return 'must be an array of agent scopes or a preset name';
}

export const agentPermissionsInput = z.union(
  [z.array(z.enum(AGENT_SCOPES)).max(AGENT_SCOPES.length * 2), z.enum(AGENT_PRESET_NAMES)],
  { error: (issue) => describePermissionsError(issue.input) },
);

const agentFields = {
  name: z.string().regex(AGENT_NAME_PATTERN, 'must be 1-64 letters, digits, ., _ or -, starting with a letter or digit'),
  version: z.string().regex(AGENT_VERSION_PATTERN, 'must be 1-32 characters of letters, digits, ., +, _ or -'),
  description: z.string().max(AGENT_LIMITS.descriptionChars),
  entry_code: z.string().max(AGENT_LIMITS.entryCodeChars, `must be at most ${AGENT_LIMITS.entryCodeChars} characters`),
  config: agentConfigInput,
  permissions: agentPermissionsInput,
  swarm: z.string().regex(SWARM_NAME_PATTERN, 'must be 1-64 letters, digits, ., _ or -').nullable(),
  status: z.enum(CLIENT_AGENT_STATUSES),
};

const optionalAgentFields = z.object(agentFields).partial().strict();

/** Registration needs a name; every other field is optional (defaults, or kept on upsert). */
export const registerAgentBody = optionalAgentFields.required({ name: true });
export type RegisterAgentBody = z.output<typeof registerAgentBody>;

export const patchAgentBody = optionalAgentFields.refine((b) => Object.keys(b).length > 0, { message: 'at least one field is required' });
export type PatchAgentBody = z.output<typeof patchAgentBody>;

export const agentIdParams = z.object({ id: idString }).strict();
export const contextKeyParams = z
  .object({ id: idString, key: z.string().regex(CONTEXT_KEY_PATTERN, 'must be 1-128 letters, digits, _, ., : or -') })
  .strict();
export const putContextBody = z.object({ value: z.json() }).strict();

export const listAgentsQuery = z
  .object({ page: intFromQuery(1, 1_000_000).optional(), limit: intFromQuery(1, 100).optional() })
  .strict();

export const agentConfigOutput = z
  .object({
    memory_limit_mb: z.number().int(),
    cpu_time_limit_ms: z.number().int(),
    max_api_calls_per_run: z.number().int(),
    allow_network: z.boolean(),
    allow_filesystem: z.boolean(),
    sandbox_template: z.enum(SANDBOX_TEMPLATE_NAMES),
    allowed_domains: z.array(z.string()),
  })
  .meta({ id: 'AgentConfig' });

export const agentOutput = z
  .object({
    id: z.number().int(),
    name: z.string(),
    version: z.string(),
    description: z.string(),
    status: z.enum(AGENT_STATUSES),
    swarm: z.string().nullable(),
    permissions: z.array(z.enum(AGENT_SCOPES)),
    permissions_preset: z.enum(AGENT_PRESET_NAMES).optional(),
    config: agentConfigOutput,
    content_safety: z.boolean(),
    halt_reason: z.string().nullable(),
    created_at: timestamp,
    updated_at: timestamp,
    entry_code: z.string().optional().meta({ description: 'Present in single-agent responses' }),
  })
  .meta({ id: 'Agent' });

export const agentEnvelope = z.object({ success: z.literal(true), agent: agentOutput });
export const agentListEnvelope = z.object({
  success: z.literal(true),
  agents: z.array(agentOutput),
  total: z.number().int(),
  page: z.number().int(),
  limit: z.number().int(),
});
export const contextEntryOutput = z.object({ key: z.string(), value: z.json(), updated_at: timestamp });
export const contextListOutput = z.object({
  success: z.literal(true),
  keys: z.array(z.object({ key: z.string(), updated_at: timestamp })),
});

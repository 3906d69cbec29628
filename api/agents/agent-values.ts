// Turns a register or patch body into the values stored for an agent: resolves the
// sandbox config and the permission scopes, keeps what the body leaves out.
import { errors } from '../../shared/errors.ts';
import type { AgentRow } from '../../shared/db/entities/agent.ts';
import type { AgentValues } from '../../shared/db/stores/agent-store.ts';
import { DEFAULT_AGENT_PRESET, resolveAgentPermissions } from '../../shared/permissions/agent-presets.ts';
import { resolveAgentConfig, type AgentConfig, type AgentConfigInput } from '../../shared/sandbox-templates.ts';
import type { PatchAgentBody, RegisterAgentBody } from '../schemas/agent-schemas.ts';

const DEFAULT_VERSION = '1.0.0';
const DEFAULT_STATUS = 'ready';

function resolveConfigOrThrow(input: AgentConfigInput): AgentConfig {
  const resolved = resolveAgentConfig(input);
  if (!resolved.ok) throw errors.validation(resolved.field, resolved.message);
  return resolved.config;
}

/**
 * A config in the body is resolved on its own (template + explicit values), except that
 * a patch that does not name a template keeps the stored values it does not override.
 */
function nextConfig(existing: AgentConfig | null, given: AgentConfigInput | undefined, patch: boolean): AgentConfig {
  if (!given) return existing ?? resolveConfigOrThrow({});
  if (patch && existing && given.sandbox_template === undefined) return resolveConfigOrThrow({ ...existing, ...given });
  return resolveConfigOrThrow(given);
}

function nextPermissions(existing: AgentRow | null, given: RegisterAgentBody['permissions']) {
  if (given !== undefined) return resolveAgentPermissions(given);
  if (existing) return { scopes: existing.permissions, preset: existing.permissions_preset };
  return resolveAgentPermissions(DEFAULT_AGENT_PRESET);
}

export function agentValuesFromRegister(body: RegisterAgentBody, existing: AgentRow | null): AgentValues {
  const permissions = nextPermissions(existing, body.permissions);
  return {
    name: body.name,
    version: body.version ?? existing?.version ?? DEFAULT_VERSION,
    description: body.description ?? existing?.description ?? '',
    entry_code: body.entry_code ?? existing?.entry_code ?? '',
    config: nextConfig(existing?.config ?? null, body.config, false),
    permissions: permissions.scopes,
    permissions_preset: permissions.preset,
    swarm: body.swarm !== undefined ? body.swarm : (existing?.swarm ?? null),
    // Re-registering never lifts a halt: only an explicit status change does.
    status: existing?.status === 'halted' && body.status === undefined ? 'halted' : (body.status ?? existing?.status ?? DEFAULT_STATUS),
    halt_reason: body.status !== undefined ? null : (existing?.halt_reason ?? null),
  };
}

export function agentValuesFromPatch(body: PatchAgentBody, existing: AgentRow): AgentValues {
  const permissions = nextPermissions(existing, body.permissions);
  return {
    name: body.name ?? existing.name,
    version: body.version ?? existing.version,
    description: body.description ?? existing.description,
    entry_code: body.entry_code ?? existing.entry_code,
    config: nextConfig(existing.config, body.config, true),
    permissions: permissions.scopes,
    permissions_preset: permissions.preset,
    swarm: body.swarm !== undefined ? body.swarm : existing.swarm,
    status: body.status ?? existing.status,
    halt_reason: body.status !== undefined ? null : existing.halt_reason,
  };
}

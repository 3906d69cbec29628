// Named agent permission presets. The SDKs read this list (generated, never retyped),
// so a preset means the same scopes on the server and in every client.
import { AGENT_SCOPES, type AgentScope } from './agent-scopes.ts';

export const AGENT_PRESET_NAMES = ['READONLY', 'WRITER', 'RESEARCHER', 'CODER', 'ANALYST', 'FULL'] as const;
export type AgentPresetName = (typeof AGENT_PRESET_NAMES)[number];

export const AGENT_PRESETS: Readonly<Record<AgentPresetName, readonly AgentScope[]>> = Object.freeze({
  READONLY: Object.freeze(['data:read', 'compute:read'] as const),
  WRITER: Object.freeze(['inference:call', 'data:read'] as const),
  RESEARCHER: Object.freeze(['network:outbound', 'inference:call', 'data:read', 'agents:read'] as const),
  CODER: Object.freeze(['compute:read', 'compute:write', 'inference:call', 'data:read', 'network:outbound'] as const),
  ANALYST: Object.freeze([
    'data:read',
    'data:write',
    'storage:read',
    'storage:write',
    'compute:read',
    'inference:call',
    'agents:read',
  ] as const),
  FULL: Object.freeze([...AGENT_SCOPES]),
});

export const DEFAULT_AGENT_PRESET: AgentPresetName = 'READONLY';

export function isAgentPresetName(value: string): value is AgentPresetName {
  return (AGENT_PRESET_NAMES as readonly string[]).includes(value);
}

/** A scope list or a preset name, resolved to a sorted, de-duplicated scope list. */
export function resolveAgentPermissions(
  requested: readonly AgentScope[] | AgentPresetName,
): { scopes: AgentScope[]; preset: AgentPresetName | null } {
  if (typeof requested === 'string') {
    return { scopes: [...AGENT_PRESETS[requested]].sort(), preset: requested };
  }
  return { scopes: [...new Set(requested)].sort(), preset: null };
}

// Agent permission scopes: what an agent's own code may do inside the sandbox.
// Not to be confused with API key scopes (shared/permissions/key-scopes.ts), which
// govern what a caller may do through the REST API.

export const AGENT_SCOPES = [
  'compute:read',
  'compute:write',
  'inference:call',
  'data:read',
  'data:write',
  'network:outbound',
  'storage:read',
  'storage:write',
  'agents:read',
  'agents:write',
] as const;

export type AgentScope = (typeof AGENT_SCOPES)[number];

export const AGENT_SCOPE_DESCRIPTIONS: Readonly<Record<AgentScope, string>> = {
  'compute:read': 'Read compute job status and metrics',
  'compute:write': 'Submit compute jobs',
  'inference:call': 'Make LLM inference calls',
  'data:read': 'Read structured data inputs and the agent context store',
  'data:write': 'Write structured data outputs',
  'network:outbound': 'Make outbound HTTPS requests',
  'storage:read': 'Read from persistent storage',
  'storage:write': 'Write to persistent storage',
  'agents:read': 'Read outputs from other agents (cross-agent)',
  'agents:write': 'Write to other agents or spawn subagents',
};

export function isAgentScope(value: string): value is AgentScope {
  return (AGENT_SCOPES as readonly string[]).includes(value);
}

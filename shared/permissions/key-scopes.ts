// API key scopes: what a caller holding a key may do through the REST API.
// Distinct from agent permission scopes (agent-scopes.ts), which bound agent code.

export const KEY_SCOPES = [
  'agents:read',
  'agents:write',
  'executions:read',
  'executions:run',
  'audit:read',
  'kill',
  'permissions:request',
  'permissions:approve',
  'credentials:write',
  'compliance:read',
  'admin',
] as const;

export type KeyScope = (typeof KEY_SCOPES)[number];

export const KEY_SCOPE_DESCRIPTIONS: Readonly<Record<KeyScope, string>> = {
  'agents:read': 'List and read agents and their context store',
  'agents:write': 'Register, update and delete agents; write their context store',
  'executions:read': 'Read execution history and results',
  'executions:run': 'Execute agents',
  'audit:read': 'Query, export, verify and stream the audit trail',
  kill: 'Halt agents and use the account-wide kill switch',
  'permissions:request': 'Create permission escalation requests',
  'permissions:approve': 'Approve or deny permission escalation requests',
  'credentials:write': 'Store and rotate encrypted credentials',
  'compliance:read': 'Read compliance evaluations and evidence packages',
  admin: 'Everything above, plus key management and account limits',
};

export function isKeyScope(value: string): value is KeyScope {
  return (KEY_SCOPES as readonly string[]).includes(value);
}

/** `admin` implies every other scope. */
export function keyHasScope(granted: readonly string[], needed: KeyScope): boolean {
  return granted.includes('admin') || granted.includes(needed);
}

// Decides if a host call may run; never runs it. The sandbox asks before every
// thetazero.* call that reaches outside the run, and records the answer in the audit.
import { hostMatchesAllowList } from '../net/domain-allow-list.ts';
import type { AgentScope } from './agent-scopes.ts';

/** What an execution was granted: the agent's scopes and the parts of its config that gate calls. */
export interface HostCallGrant {
  readonly scopes: readonly AgentScope[];
  readonly allowNetwork: boolean;
  readonly allowedDomains: readonly string[];
  readonly maxApiCallsPerRun: number;
}

export type HostFunctionName = 'log' | 'http_request' | 'read_context' | 'write_result';

export type HostCall =
  /** host null: the URL is not parsed yet, so only scope, network and budget are checked. */
  | { readonly fn: 'http_request'; readonly host: string | null }
  | { readonly fn: 'read_context' }
  | { readonly fn: 'write_result' }
  | { readonly fn: 'log' };

export type HostCallDenial = 'scope_missing' | 'network_disabled' | 'domain_not_allowed' | 'budget_exhausted';

export type HostCallDecision =
  | { allowed: true; countsAsApiCall: boolean }
  | { allowed: false; code: HostCallDenial; message: string };

/** The scope each host function needs; null means any agent may call it. Documented in docs/sandbox.md. */
export const HOST_FUNCTION_SCOPES: Readonly<Record<HostFunctionName, AgentScope | null>> = Object.freeze({
  log: null,
  write_result: null,
  http_request: 'network:outbound',
  read_context: 'data:read',
});

/** Calls that reach outside the run count against max_api_calls_per_run. */
export const API_CALL_FUNCTIONS: ReadonlySet<HostFunctionName> = new Set<HostFunctionName>(['http_request', 'read_context']);

/** @param apiCallsUsed API calls this run already made (allowed ones). */
export function checkHostCall(grant: HostCallGrant, call: HostCall, apiCallsUsed: number): HostCallDecision {
  const scope = HOST_FUNCTION_SCOPES[call.fn];
  if (scope !== null && !grant.scopes.includes(scope)) {
    return { allowed: false, code: 'scope_missing', message: `${call.fn} needs the scope ${scope}` };
  }
  if (call.fn === 'http_request') {
    if (!grant.allowNetwork) {
      return { allowed: false, code: 'network_disabled', message: 'http_request needs allow_network: true in the agent config' };
    }
    if (call.host !== null && !hostMatchesAllowList(call.host, grant.allowedDomains)) {
      return { allowed: false, code: 'domain_not_allowed', message: `${call.host} is not in the agent's allowed_domains` };
    }
  }
  const countsAsApiCall = API_CALL_FUNCTIONS.has(call.fn);
  if (countsAsApiCall && apiCallsUsed >= grant.maxApiCallsPerRun) {
    return {
      allowed: false,
      code: 'budget_exhausted',
      message: `max_api_calls_per_run (${grant.maxApiCallsPerRun}) reached`,
    };
  }
  return { allowed: true, countsAsApiCall };
}

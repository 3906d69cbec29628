// The agent context store: /api/v1/sdk/agents/:id/context[/:key].
import { errors } from '../../shared/errors.ts';
import type { AgentContextStore } from '../../shared/db/stores/agent-context-store.ts';
import type { AgentReader } from '../agents/agent-cache.ts';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { authErrorResponses, errorBody } from '../schemas/common.ts';
import {
  AGENT_LIMITS,
  agentIdParams,
  contextEntryOutput,
  contextKeyParams,
  contextListOutput,
  putContextBody,
} from '../schemas/agent-schemas.ts';

export interface ContextRouteDeps {
  readonly agents: AgentReader;
  readonly context: AgentContextStore;
}

const BASE = '/api/v1/sdk/agents/:id/context';
const TAG = 'Agent context';
const common = {
  ...authErrorResponses('the required agents scope'),
  404: { description: 'No such agent (or key) in this account', schema: errorBody },
};

export function contextRoutes(deps: ContextRouteDeps): RouteSpec[] {
  async function requireAgent(accountId: number, id: number): Promise<void> {
    if (!(await deps.agents.get(accountId, id))) throw errors.notFound(`agent ${id}`);
  }

  return [
    defineRoute({
      method: 'get',
      path: BASE,
      summary: 'List the keys of an agent\'s context store',
      tag: TAG,
      auth: 'agents:read',
      params: agentIdParams,
      responses: { 200: { description: 'Keys, sorted', schema: contextListOutput }, ...common },
      async handle({ params, principal }) {
        await requireAgent(principal.accountId, params.id);
        const keys = await deps.context.listKeys(params.id);
        return {
          status: 200,
          body: { success: true, keys: keys.map((k) => ({ key: k.key, updated_at: k.updated_at.toISOString() })) },
        };
      },
    }),
    defineRoute({
      method: 'put',
      path: `${BASE}/:key`,
      summary: 'Set a context value (any JSON, size-limited)',
      tag: TAG,
      auth: 'agents:write',
      params: contextKeyParams,
      body: putContextBody,
      responses: { 200: { description: 'Stored', schema: contextEntryOutput }, 413: { description: 'Value too large', schema: errorBody }, ...common },
      async handle({ params, body, principal }) {
        const size = Buffer.byteLength(JSON.stringify(body.value), 'utf8');
        if (size > AGENT_LIMITS.contextValueBytes) {
          throw errors.validation('value', `must serialise to at most ${AGENT_LIMITS.contextValueBytes} bytes of JSON (got ${size})`);
        }
        await requireAgent(principal.accountId, params.id);
        const row = await deps.context.put(params.id, params.key, body.value);
        return { status: 200, body: { key: row.key, value: row.value, updated_at: row.updated_at.toISOString() } };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${BASE}/:key`,
      summary: 'Read a context value',
      tag: TAG,
      auth: 'agents:read',
      params: contextKeyParams,
      responses: { 200: { description: 'The value', schema: contextEntryOutput }, ...common },
      async handle({ params, principal }) {
        await requireAgent(principal.accountId, params.id);
        const row = await deps.context.get(params.id, params.key);
        if (!row) throw errors.notFound(`context key ${params.key}`);
        return { status: 200, body: { key: row.key, value: row.value, updated_at: row.updated_at.toISOString() } };
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${BASE}/:key`,
      summary: 'Delete a context value',
      tag: TAG,
      auth: 'agents:write',
      params: contextKeyParams,
      responses: { 200: { description: 'Deleted' }, ...common },
      async handle({ params, principal }) {
        await requireAgent(principal.accountId, params.id);
        if (!(await deps.context.delete(params.id, params.key))) throw errors.notFound(`context key ${params.key}`);
        return { status: 200, body: { success: true, deleted: { key: params.key } } };
      },
    }),
  ];
}

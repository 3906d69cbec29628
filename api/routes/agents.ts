// The agent registry: /api/v1/sdk/agents.
import { errors } from '../../shared/errors.ts';
import type { AgentStore } from '../../shared/db/stores/agent-store.ts';
import { agentValuesFromPatch, agentValuesFromRegister } from '../agents/agent-values.ts';
import { presentAgent } from '../agents/agent-presenter.ts';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { authErrorResponses, errorBody } from '../schemas/common.ts';
import {
  agentEnvelope,
  agentIdParams,
  agentListEnvelope,
  listAgentsQuery,
  patchAgentBody,
  registerAgentBody,
} from '../schemas/agent-schemas.ts';
import type { AgentEvents } from '../agents/agent-events.ts';
import type { AgentReader } from '../agents/agent-cache.ts';
import { agentAuditHook } from '../agents/agent-audit.ts';

export interface AgentRouteDeps {
  readonly agents: AgentStore;
  /** Cached reads; writes go to the store and invalidate through `events`. */
  readonly reader: AgentReader;
  readonly events: AgentEvents;
}

const BASE = '/api/v1/sdk/agents';
const TAG = 'Agents';
const errorResponses = authErrorResponses('the required agents scope');

export function agentRoutes(deps: AgentRouteDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: BASE,
      summary: 'Register an agent, or update the agent of the same name (upsert)',
      tag: TAG,
      auth: 'agents:write',
      body: registerAgentBody,
      responses: {
        200: { description: 'Updated an existing agent', schema: agentEnvelope },
        201: { description: 'Created a new agent', schema: agentEnvelope },
        409: { description: 'Name conflict', schema: errorBody },
        ...errorResponses,
      },
      async handle({ body, principal }) {
        const { row, created } = await deps.agents.upsertByName(
          principal.accountId,
          body.name,
          (existing) => agentValuesFromRegister(body, existing),
          agentAuditHook(principal.keyPrefix),
        );
        await deps.events.changed(principal, row, created ? 'created' : 'updated');
        return { status: created ? 201 : 200, body: { success: true, agent: presentAgent(row, { withCode: true }) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: BASE,
      summary: 'List the agents of the key\'s account, newest first',
      tag: TAG,
      auth: 'agents:read',
      query: listAgentsQuery,
      responses: { 200: { description: 'A page of agents', schema: agentListEnvelope }, ...errorResponses },
      async handle({ query, principal }) {
        const page = query.page ?? 1;
        const limit = query.limit ?? 20;
        const { rows, total } = await deps.agents.list(principal.accountId, page, limit);
        return {
          status: 200,
          body: { success: true, agents: rows.map((r) => presentAgent(r, { withCode: false })), total, page, limit },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${BASE}/:id`,
      summary: 'Get one agent, including its entry code',
      tag: TAG,
      auth: 'agents:read',
      params: agentIdParams,
      responses: {
        200: { description: 'The agent', schema: agentEnvelope },
        404: { description: 'No such agent in this account', schema: errorBody },
        ...errorResponses,
      },
      async handle({ params, principal }) {
        const row = await deps.reader.get(principal.accountId, params.id);
        if (!row) throw errors.notFound(`agent ${params.id}`);
        return { status: 200, body: { success: true, agent: presentAgent(row, { withCode: true }) } };
      },
    }),
    defineRoute({
      method: 'patch',
      path: `${BASE}/:id`,
      summary: 'Update an agent\'s code, config, permissions or status',
      tag: TAG,
      auth: 'agents:write',
      params: agentIdParams,
      body: patchAgentBody,
      responses: {
        200: { description: 'The updated agent', schema: agentEnvelope },
        404: { description: 'No such agent in this account', schema: errorBody },
        409: { description: 'Another agent already has the new name', schema: errorBody },
        ...errorResponses,
      },
      async handle({ params, body, principal }) {
        const row = await deps.agents.update(
          principal.accountId,
          params.id,
          (existing) => agentValuesFromPatch(body, existing),
          agentAuditHook(principal.keyPrefix),
        );
        if (!row) throw errors.notFound(`agent ${params.id}`);
        await deps.events.changed(principal, row, 'updated');
        return { status: 200, body: { success: true, agent: presentAgent(row, { withCode: true }) } };
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${BASE}/:id`,
      summary: 'Delete an agent, its context and its executions (audit records stay)',
      tag: TAG,
      auth: 'agents:write',
      params: agentIdParams,
      responses: {
        200: { description: 'Deleted' },
        404: { description: 'No such agent in this account', schema: errorBody },
        ...errorResponses,
      },
      async handle({ params, principal }) {
        const row = await deps.agents.delete(principal.accountId, params.id, agentAuditHook(principal.keyPrefix));
        if (!row) throw errors.notFound(`agent ${params.id}`);
        await deps.events.changed(principal, row, 'deleted');
        return { status: 200, body: { success: true, deleted: { id: params.id, name: row.name } } };
      },
    }),
  ];
}

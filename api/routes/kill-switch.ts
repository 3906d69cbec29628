// The product page's kill switch: per agent, and account-wide.
import { z } from 'zod';
import { errors } from '../../shared/errors.ts';
import { DEFAULT_KILL_REASON, type KillSwitch } from '../../shared/execution/kill-switch.ts';
import { presentAgent } from '../agents/agent-presenter.ts';
import type { AgentEvents } from '../agents/agent-events.ts';
import type { AgentReader } from '../agents/agent-cache.ts';
import type { AccountHaltCache } from '../agents/account-halt-cache.ts';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { authErrorResponses, errorBody } from '../schemas/common.ts';
import { agentEnvelope, agentIdParams } from '../schemas/agent-schemas.ts';
import { globalKillBody, killBody } from '../schemas/execution-schemas.ts';

export interface KillRouteDeps {
  readonly killSwitch: KillSwitch;
  /** Cached agent reads: the tenant check before a kill. */
  readonly agents: AgentReader;
  /** Evicted here at once; other api processes learn of the change from the kill switch's message. */
  readonly accountHalts: Pick<AccountHaltCache, 'invalidate'>;
  readonly events: AgentEvents;
}

export function killSwitchRoutes(deps: KillRouteDeps): RouteSpec[] {
  const agentKill = (path: string) =>
    defineRoute({
      method: 'post',
      path,
      summary: 'Halt an agent: terminates its running executions and ends its queued ones unrun; PATCH status ready resumes it',
      tag: 'Kill switch',
      auth: 'kill',
      params: agentIdParams,
      body: killBody.optional(),
      responses: {
        200: { description: 'Halted', schema: agentEnvelope },
        404: { description: 'No such agent in this account', schema: errorBody },
        ...authErrorResponses('kill'),
      },
      async handle({ params, body, principal }) {
        // Tenant check from the agent cache first: only then may the kill signal go out
        // ahead of the database write.
        if (!(await deps.agents.get(principal.accountId, params.id))) throw errors.notFound(`agent ${params.id}`);
        const row = await deps.killSwitch.haltAgent(principal.accountId, params.id, body?.reason ?? DEFAULT_KILL_REASON, principal.keyPrefix, {
          ownershipChecked: true,
        });
        if (!row) throw errors.notFound(`agent ${params.id}`);
        await deps.events.changed(principal, row, 'updated');
        return { status: 200, body: { success: true, agent: presentAgent(row, { withCode: false }) } };
      },
    });
  const globalKill = (path: string) =>
    defineRoute({
      method: 'post',
      path,
      summary: 'Halt (halted: true) or resume (halted: false) every agent of the account',
      tag: 'Kill switch',
      auth: 'kill',
      body: globalKillBody,
      responses: {
        200: { description: 'The account\'s halt state', schema: z.object({ success: z.literal(true), halted: z.boolean(), reason: z.string().nullable() }) },
        ...authErrorResponses('kill'),
      },
      async handle({ body, principal }) {
        const reason = body.reason ?? DEFAULT_KILL_REASON;
        await deps.killSwitch.setAccountHalted(principal.accountId, body.halted, reason, principal.keyPrefix);
        deps.accountHalts.invalidate(principal.accountId);
        return { status: 200, body: { success: true, halted: body.halted, reason: body.halted ? reason : null } };
      },
    });
  return [
    agentKill('/api/sdk/agents/:id/kill'),
    agentKill('/api/v1/sdk/agents/:id/kill'),
    globalKill('/api/sdk/kill-switch/global'),
    globalKill('/api/v1/sdk/kill-switch/global'),
  ];
}

// Executing agents and reading their history: /api/v1/sdk/agents/:id/execute and /executions.
import { z } from 'zod';
import { errors } from '../../shared/errors.ts';
import { summarize } from '../../shared/audit/summarize.ts';
import type { AgentReader } from '../agents/agent-cache.ts';
import type { AccountHaltCache } from '../agents/account-halt-cache.ts';
import type { ExecutionStore } from '../../shared/db/stores/execution-store.ts';
import { isFinal } from '../../shared/execution/statuses.ts';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { authErrorResponses, errorBody } from '../schemas/common.ts';
import { agentIdParams } from '../schemas/agent-schemas.ts';
import { acceptedOutput, executeBody, executeQuery, executionOutput, executionParams, listExecutionsQuery } from '../schemas/execution-schemas.ts';
import { presentExecution, presentExecutionSummary } from '../../shared/execution/execution-presenter.ts';
import type { ExecutionIntake } from '../executions/execution-intake.ts';
import type { ExecutionWaiter } from '../executions/execution-waiter.ts';

export interface ExecutionRouteDeps {
  /** Cached reads: invalidated on every agent write, including the kill switch. */
  readonly agents: AgentReader;
  /** Cached account halts, invalidated by every halt and resume. */
  readonly accountHalts: Pick<AccountHaltCache, 'reason'>;
  readonly executions: ExecutionStore;
  readonly intake: ExecutionIntake;
  readonly waiter: ExecutionWaiter;
  readonly maxInputBytes: number;
  readonly waitAllowanceMs: number;
}

const BASE = '/api/v1/sdk/agents/:id';
const TAG = 'Executions';

export function executionRoutes(deps: ExecutionRouteDeps): RouteSpec[] {
  const accepted = (row: { id: number; agent_id: number; status: string }) => ({
    execution_id: row.id,
    agent_id: row.agent_id,
    status: row.status,
    poll_url: `/api/v1/sdk/agents/${row.agent_id}/executions/${row.id}`,
    audit_trail_url: `/api/v1/sdk/audit?executionId=${row.id}`,
  });

  return [
    defineRoute({
      method: 'post',
      path: `${BASE}/execute`,
      summary: 'Execute an agent: waits for the result, or answers 202 at once with ?async=true or Prefer: respond-async',
      tag: TAG,
      auth: 'executions:run',
      params: agentIdParams,
      query: executeQuery,
      body: executeBody.optional(),
      responses: {
        200: { description: 'The run ended; its result', schema: executionOutput },
        202: { description: 'Queued (async), or still running when the wait ran out; poll poll_url', schema: acceptedOutput },
        404: { description: 'No such agent in this account', schema: errorBody },
        409: { description: 'agent_halted, agent_disabled or account_halted', schema: errorBody },
        ...authErrorResponses('executions:run'),
      },
      async handle({ params, query, body, principal, ctx }) {
        const input = body?.input ?? null;
        const inputJson = JSON.stringify(input);
        const inputBytes = Buffer.byteLength(inputJson, 'utf8');
        if (inputBytes > deps.maxInputBytes) throw errors.validation('input', `must serialise to at most ${deps.maxInputBytes} bytes of JSON (got ${inputBytes})`);
        // Both checks read caches (of agents, and of the Redis mirror of account halts), which
        // writes invalidate at once; the scheduler re-checks the database before any run.
        const [agent, accountHalt] = await Promise.all([deps.agents.get(principal.accountId, params.id), deps.accountHalts.reason(principal.accountId)]);
        if (!agent) throw errors.notFound(`agent ${params.id}`);
        if (accountHalt !== null) throw errors.conflict('account_halted', `the account is halted: ${accountHalt}`);
        if (agent.status === 'halted') throw errors.conflict('agent_halted', `agent ${agent.name} is halted: ${agent.halt_reason ?? 'no reason given'}`);
        if (agent.status !== 'ready') throw errors.conflict('agent_disabled', `agent ${agent.name} is ${agent.status}; set its status to ready to run it`);

        const wantsAsync = query.async === 'true' || query.async === '1' || /\brespond-async\b/i.test(ctx.get('prefer'));
        const row = await deps.intake.queue({
          accountId: principal.accountId,
          agentId: agent.id,
          inputJson,
          awaited: !wantsAsync,
          audit: {
            actor: principal.keyPrefix,
            actionType: 'execution_queued',
            description: `execution of agent ${agent.name} queued`,
            inputSummary: summarize(input),
            permissionState: { scopes: agent.permissions, config: { ...agent.config } },
          },
        });

        if (wantsAsync) return { status: 202, body: accepted(row) };
        let latest = row;
        const ended = await deps.waiter.wait(row.id, agent.config.cpu_time_limit_ms + deps.waitAllowanceMs, async () => {
          latest = (await deps.executions.getById(row.id)) ?? latest;
          return isFinal(latest.status) ? presentExecution(latest) : null;
        });
        return ended ? { status: 200, body: ended } : { status: 202, body: accepted(latest) };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${BASE}/executions`,
      summary: 'List an agent\'s executions, newest first',
      tag: TAG,
      auth: 'executions:read',
      params: agentIdParams,
      query: listExecutionsQuery,
      responses: {
        200: {
          description: 'A page of executions (without output, logs and host-call audit)',
          schema: z.object({ success: z.literal(true), executions: z.array(z.record(z.string(), z.unknown())), total: z.number().int(), page: z.number().int(), limit: z.number().int() }),
        },
        404: { description: 'No such agent in this account', schema: errorBody },
        ...authErrorResponses('executions:read'),
      },
      async handle({ params, query, principal }) {
        if (!(await deps.agents.get(principal.accountId, params.id))) throw errors.notFound(`agent ${params.id}`);
        const page = query.page ?? 1;
        const limit = query.limit ?? 20;
        const { rows, total } = await deps.executions.list(principal.accountId, params.id, page, limit, query.status);
        return { status: 200, body: { success: true, executions: rows.map(presentExecutionSummary), total, page, limit } };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${BASE}/executions/:eid`,
      summary: 'One execution with everything: output, logs, host-call audit, resource usage, node, timestamps',
      tag: TAG,
      auth: 'executions:read',
      params: executionParams,
      responses: {
        200: { description: 'The execution', schema: executionOutput },
        404: { description: 'No such execution of this agent in this account', schema: errorBody },
        ...authErrorResponses('executions:read'),
      },
      async handle({ params, principal }) {
        const row = await deps.executions.get(principal.accountId, params.id, params.eid);
        if (!row) throw errors.notFound(`execution ${params.eid}`);
        return { status: 200, body: presentExecution(row) };
      },
    }),
  ];
}

// GET /api/sdk/audit/stream: Server-Sent Events of the account's audit records.
// Events: `connected` on open, `audit` per record (SSE id = record id), `keepalive`
// every keepaliveMs, `timeout` when the stream reaches its maximum age, then it closes.
// `since` or `Last-Event-ID` replays stored records first, then continues live.
import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { errors } from '../../shared/errors.ts';
import type { AuditRecordView } from '../../shared/audit/audit-record.ts';
import type { AuditStore } from '../../shared/db/stores/audit-store.ts';
import type { Logger } from '../../shared/logger.ts';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { errorBody } from '../schemas/common.ts';
import { auditStreamQuery } from '../schemas/audit-schemas.ts';
import type { AuditFanout } from './audit-fanout.ts';
import { AuditStreamSession } from './audit-stream-session.ts';

export interface AuditStreamDeps {
  readonly audit: AuditStore;
  readonly fanout: AuditFanout;
  readonly log: Logger;
  readonly keepaliveMs: number;
  readonly maxAgeMs: number;
}

const LAST_EVENT_ID = /^[1-9][0-9]{0,14}$/;

function frame(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function auditStreamRoutes(deps: AuditStreamDeps): RouteSpec[] {
  const spec = (path: string) =>
    defineRoute({
      method: 'get',
      path,
      summary: 'Live audit stream (Server-Sent Events), optionally replaying from `since` or Last-Event-ID',
      tag: 'Audit',
      auth: 'audit:read',
      query: auditStreamQuery,
      responses: {
        200: { description: 'text/event-stream of connected, audit, keepalive and timeout events', mediaType: 'text/event-stream', schema: z.string() },
        400: { description: 'Invalid query or Last-Event-ID', schema: errorBody },
        401: { description: 'Missing, unknown or revoked API key', schema: errorBody },
        403: { description: 'The key lacks audit:read', schema: errorBody },
      },
      async handle({ query, principal, ctx }) {
        const accountId = principal.accountId;
        // Resolve where to start before any byte is sent, so a bad request is a JSON 4xx.
        const lastEventId = ctx.get('last-event-id');
        let after: number | null = null;
        if (lastEventId) {
          if (!LAST_EVENT_ID.test(lastEventId)) throw errors.validation('Last-Event-ID', 'must be an audit record id');
          const record = await deps.audit.findRecord(accountId, Number(lastEventId));
          if (!record) throw errors.validation('Last-Event-ID', 'is not a record of this account');
          after = Number(record.sequence);
        } else if (query.since) {
          after = await firstSequenceAtOrAfter(deps.audit, accountId, query.since);
        }

        const stream = new PassThrough();
        const write = (chunk: string) => {
          if (!stream.writableEnded) stream.write(chunk);
        };
        const session = new AuditStreamSession(
          deps.audit,
          { accountId, agentId: query.agentId, executionId: query.executionId },
          (record: AuditRecordView) => write(frame('audit', record, record.id)),
          (err) => {
            deps.log.error({ err, accountId }, 'audit stream failed');
            stream.end();
          },
        );
        const unsubscribe = deps.fanout.add(accountId, session);
        const keepalive = setInterval(() => write(frame('keepalive', { at: new Date().toISOString() })), deps.keepaliveMs);
        const maxAge = setTimeout(() => {
          write(frame('timeout', { reason: 'maximum stream age reached; reconnect with Last-Event-ID', max_age_ms: deps.maxAgeMs }));
          stream.end();
        }, deps.maxAgeMs);
        const cleanup = () => {
          clearInterval(keepalive);
          clearTimeout(maxAge);
          session.close();
          unsubscribe();
        };
        stream.once('close', cleanup);
        stream.once('finish', cleanup);
        ctx.req.once('close', () => stream.end());

        ctx.req.socket.setTimeout(0);
        ctx.req.socket.setNoDelay(true);
        ctx.status = 200;
        ctx.set('Content-Type', 'text/event-stream; charset=utf-8');
        ctx.set('Cache-Control', 'no-cache, no-transform');
        ctx.set('Connection', 'keep-alive');
        ctx.set('X-Accel-Buffering', 'no');
        ctx.body = stream;
        write(frame('connected', { account_id: accountId, filters: { agentId: query.agentId ?? null, executionId: query.executionId ?? null }, replay_from_sequence: after === null ? null : after + 1 }));
        const head = await deps.audit.headSequence(accountId);
        void session.start(after ?? head).catch((err) => {
          deps.log.error({ err, accountId }, 'audit stream replay failed');
          stream.end();
        });
        return undefined;
      },
    });
  return [spec('/api/sdk/audit/stream'), spec('/api/v1/sdk/audit/stream')];
}

async function firstSequenceAtOrAfter(audit: AuditStore, accountId: number, since: Date): Promise<number> {
  const { rows } = await audit.page({ accountId, from: since }, 0, 1);
  if (rows.length > 0) return Number(rows[0]!.sequence) - 1;
  return audit.headSequence(accountId);
}

// Live execution progress over WebSocket at /api/v1/sdk/ws. The key comes in the
// Authorization header of the upgrade or as the first message ({ type: 'auth', apiKey });
// clients subscribe to an execution or an agent of their account and receive JSON frames
// { type: status | log | host_call | result | error, executionId, ... } as they happen.
// Frames come through Redis pub/sub, one channel per account. A process is subscribed to an
// account's channel only while a client of that account is connected to it: frames of
// accounts nobody here watches (most of them, under load) never wake it.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { AppError } from '../../shared/errors.ts';
import { keyHasScope } from '../../shared/permissions/key-scopes.ts';
import type { Logger } from '../../shared/logger.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import type { ApiKeyAuthenticator, Principal } from '../middleware/authenticate.ts';
import { ChannelListeners } from './channel-listeners.ts';

export const WS_PATH = '/api/v1/sdk/ws';
const MAX_FRAME_BYTES = 4096;
const MAX_SUBSCRIPTIONS = 100;
const AUTH_TIMEOUT_MS = 10_000;
/** Well under AUTH_TIMEOUT_MS, so a client whose subscription fails learns why. */
const SUBSCRIBE_TIMEOUT_MS = 5000;
/** Close code when the account's channel cannot be subscribed (Redis unreachable): like HTTP 503, retry later. */
const CLOSE_UNAVAILABLE = 4503;

const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const clientFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auth'), apiKey: z.string().max(200) }).strict(),
  z.object({ type: z.literal('subscribe'), executionId: id.optional(), agentId: id.optional() }).strict(),
  z.object({ type: z.literal('unsubscribe'), executionId: id.optional(), agentId: id.optional() }).strict(),
]);

interface Client {
  readonly socket: WebSocket;
  principal: Principal | null;
  readonly executions: Set<number>;
  readonly agents: Set<number>;
}

export interface ProgressSocketDeps {
  readonly server: Server;
  readonly subscriber: Redis;
  readonly keys: RedisKeys;
  readonly authenticator: ApiKeyAuthenticator;
  readonly db: DataSource;
  readonly log: Logger;
}

export async function attachProgressSocket(deps: ProgressSocketDeps): Promise<{ close(): Promise<void> }> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  // Every client joins its account's channel at authentication and leaves it when it disconnects.
  const listeners = new ChannelListeners<Client>(deps.subscriber, deps.log, SUBSCRIBE_TIMEOUT_MS);

  const send = (client: Client, frame: unknown) => {
    if (client.socket.readyState === client.socket.OPEN) client.socket.send(JSON.stringify(frame));
  };
  const fail = (client: Client, code: string, message: string) => send(client, { type: 'error', code, message });

  // The connection is shared (the execution waiter's done channel, invalidations): only the
  // progress channels clients of this process joined have listeners, every other message is passed over.
  deps.subscriber.on('message', (channel: string, message: string) => {
    const clients = listeners.listenersOf(channel);
    if (!clients) return;
    let frame: { executionId?: unknown; agentId?: unknown };
    try {
      frame = JSON.parse(message) as typeof frame;
    } catch {
      return;
    }
    for (const client of clients) {
      if (client.executions.has(Number(frame.executionId)) || client.agents.has(Number(frame.agentId))) client.socket.send(message);
    }
  });

  /** Authenticates the connection and joins its account's channel; on failure tells the client why and closes. */
  async function authenticate(client: Client, authorization: string | undefined): Promise<void> {
    let principal: Principal;
    try {
      principal = await deps.authenticator.authenticate(authorization);
    } catch (err) {
      fail(client, err instanceof AppError ? err.code : 'unauthenticated', err instanceof AppError ? err.message : 'authentication failed');
      client.socket.close(4401, 'authentication failed');
      return;
    }
    if (!keyHasScope(principal.scopes, 'executions:read')) {
      fail(client, 'insufficient_scope', 'this API key lacks the scope executions:read');
      client.socket.close(4401, 'authentication failed');
      return;
    }
    const channel = deps.keys.progressChannel(principal.accountId);
    try {
      // Confirmed before `authenticated` goes out: a frame published after the client saw
      // `authenticated` and `subscribed` reaches it.
      await listeners.join(channel, client);
    } catch {
      fail(client, 'unavailable', 'live progress is unavailable right now; try again later');
      client.socket.close(CLOSE_UNAVAILABLE, 'live progress unavailable');
      return;
    }
    // Closed while joining: its close handler saw no principal and left nothing.
    if (client.socket.readyState !== client.socket.OPEN) {
      listeners.leave(channel, client);
      return;
    }
    client.principal = principal;
    send(client, { type: 'authenticated', accountId: principal.accountId });
  }

  /** Tenant check: an execution or agent of another account reads as not found. */
  async function owns(principal: Principal, frame: { executionId?: number; agentId?: number }): Promise<boolean> {
    if (frame.executionId !== undefined) {
      const rows = (await deps.db.query(`SELECT 1 FROM executions WHERE id = $1 AND account_id = $2`, [frame.executionId, principal.accountId])) as unknown[];
      if (rows.length === 0) return false;
    }
    if (frame.agentId !== undefined) {
      const rows = (await deps.db.query(`SELECT 1 FROM agents WHERE id = $1 AND account_id = $2`, [frame.agentId, principal.accountId])) as unknown[];
      if (rows.length === 0) return false;
    }
    return true;
  }

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const client: Client = { socket, principal: null, executions: new Set(), agents: new Set() };
    let queue = Promise.resolve();
    const authTimer = setTimeout(() => {
      if (!client.principal) socket.close(4401, 'authentication required');
    }, AUTH_TIMEOUT_MS);
    if (request.headers.authorization) {
      queue = queue.then(() => authenticate(client, request.headers.authorization));
    }
    socket.on('message', (data) => {
      queue = queue.then(async () => {
        let parsed: z.infer<typeof clientFrame>;
        try {
          const result = clientFrame.safeParse(JSON.parse(String(data)));
          if (!result.success) return fail(client, 'validation_failed', result.error.issues[0]?.message ?? 'invalid frame');
          parsed = result.data;
        } catch {
          return fail(client, 'invalid_json', 'frames must be JSON');
        }
        if (parsed.type === 'auth') {
          if (client.principal) return fail(client, 'already_authenticated', 'this connection is already authenticated');
          return authenticate(client, `Bearer ${parsed.apiKey}`);
        }
        if (!client.principal) return fail(client, 'unauthenticated', 'send { "type": "auth", "apiKey": "tzk_..." } first');
        if (parsed.executionId === undefined && parsed.agentId === undefined) return fail(client, 'validation_failed', 'give executionId or agentId');
        if (parsed.type === 'subscribe') {
          if (client.executions.size + client.agents.size >= MAX_SUBSCRIPTIONS) return fail(client, 'too_many_subscriptions', `at most ${MAX_SUBSCRIPTIONS} per connection`);
          if (!(await owns(client.principal, parsed))) return fail(client, 'not_found', 'no such execution or agent in this account');
          if (parsed.executionId !== undefined) client.executions.add(parsed.executionId);
          if (parsed.agentId !== undefined) client.agents.add(parsed.agentId);
          send(client, { type: 'subscribed', executionId: parsed.executionId ?? null, agentId: parsed.agentId ?? null });
        } else {
          if (parsed.executionId !== undefined) client.executions.delete(parsed.executionId);
          if (parsed.agentId !== undefined) client.agents.delete(parsed.agentId);
          send(client, { type: 'unsubscribed', executionId: parsed.executionId ?? null, agentId: parsed.agentId ?? null });
        }
      }).catch((err) => deps.log.error({ err }, 'websocket frame handling failed'));
    });
    socket.on('close', () => {
      clearTimeout(authTimer);
      if (client.principal) listeners.leave(deps.keys.progressChannel(client.principal.accountId), client);
    });
    socket.on('error', () => socket.terminate());
  });

  deps.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  return {
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

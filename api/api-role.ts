// The api role: HTTP server with the REST API, wired to its stores and Redis.
import { createServer, type Server } from 'node:http';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Config } from '../shared/config.ts';
import type { Logger } from '../shared/logger.ts';
import type { Closable } from '../shared/process/lifecycle.ts';
import { AgentContextStore } from '../shared/db/stores/agent-context-store.ts';
import { AgentStore } from '../shared/db/stores/agent-store.ts';
import { ApiKeyStore } from '../shared/db/stores/api-key-store.ts';
import { redisKeys } from '../shared/redis/keys.ts';
import { connectRedis } from '../shared/redis/connection.ts';
import { RedisAgentEvents } from './agents/agent-events.ts';
import { buildApp } from './app.ts';
import { ApiKeyAuthenticator } from './middleware/authenticate.ts';
import { listenForInvalidations } from './middleware/cache-invalidation-listener.ts';
import { AgentCache } from './agents/agent-cache.ts';
import { agentRoutes } from './routes/agents.ts';
import { contextRoutes } from './routes/agent-context.ts';
import { healthRoutes } from './routes/health.ts';
import { auditRoutes } from './routes/audit.ts';
import { AuditFanout } from './streams/audit-fanout.ts';
import { auditStreamRoutes } from './streams/audit-stream-route.ts';
import { AuditStore } from '../shared/db/stores/audit-store.ts';

export const API_VERSION = '1.1.0';

export interface ApiRoleDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly db: DataSource;
  readonly redis: Redis;
}

export interface RunningApi extends Closable {
  readonly server: Server;
  readonly url: string;
}

export async function startApiRole({ config, log, db, redis }: ApiRoleDeps): Promise<RunningApi> {
  const keys = redisKeys(config.redis.prefix);
  const authenticator = new ApiKeyAuthenticator(new ApiKeyStore(db), config.apiCacheTtlMs);
  const agents = new AgentStore(db);
  const agentCache = new AgentCache(agents, config.apiCacheTtlMs);
  const subscriber = connectRedis(config.redis.url, 'api-subscriber');
  await listenForInvalidations(subscriber, keys, { authenticator, agents: agentCache }, log);
  const fanout = new AuditFanout(subscriber, keys, log);
  await fanout.start();
  const audit = new AuditStore(db);
  const app = buildApp({
    log,
    authenticator,
    maxBodyBytes: config.http.maxBodyBytes,
    version: API_VERSION,
    routes: [
      ...healthRoutes([
        { name: 'postgres', check: async () => void (await db.query('SELECT 1')) },
        { name: 'redis', check: async () => void (await redis.ping()) },
      ]),
      ...agentRoutes({ agents, reader: agentCache, events: new RedisAgentEvents(redis, keys, agentCache) }),
      ...contextRoutes({ agents: agentCache, context: new AgentContextStore(db) }),
      ...auditRoutes({ audit }),
      ...auditStreamRoutes({ audit, fanout, log, keepaliveMs: config.audit.streamKeepaliveMs, maxAgeMs: config.audit.streamMaxAgeMs }),
    ],
  });
  const server = createServer(app.callback());
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const url = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;
  log.info({ url }, 'api listening');
  return {
    name: 'api',
    server,
    url,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      subscriber.disconnect();
    },
  };
}

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
import { AccountHaltCache } from './agents/account-halt-cache.ts';
import { agentRoutes } from './routes/agents.ts';
import { contextRoutes } from './routes/agent-context.ts';
import { healthRoutes } from './routes/health.ts';
import { auditRoutes } from './routes/audit.ts';
import { AuditFanout } from './streams/audit-fanout.ts';
import { auditStreamRoutes } from './streams/audit-stream-route.ts';
import { AuditStore } from '../shared/db/stores/audit-store.ts';
import { AnchorStore } from '../shared/db/stores/anchor-store.ts';
import { parseAnchorerStatus } from '../shared/chain/anchorer-status.ts';
import { effectiveChainRpcUrl } from '../shared/chain/chain-settings.ts';
import { EvmChain } from '../shared/chain/evm-chain.ts';
import { JsonRpcClient } from '../shared/chain/json-rpc-client.ts';
import { ChainView } from './anchors/chain-view.ts';
import { anchorRoutes } from './routes/anchors.ts';
import { ExecutionStore } from '../shared/db/stores/execution-store.ts';
import { bullConnection, intakeQueue } from '../shared/execution/queues.ts';
import { KillSwitch } from '../shared/execution/kill-switch.ts';
import { ExecutionIntake } from './executions/execution-intake.ts';
import { ExecutionWaiter } from './executions/execution-waiter.ts';
import { executionRoutes } from './routes/executions.ts';
import { killSwitchRoutes } from './routes/kill-switch.ts';
import { attachProgressSocket } from './streams/progress-ws.ts';

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
  const accountHalts = new AccountHaltCache(redis, keys, config.apiCacheTtlMs);
  const subscriber = connectRedis(config.redis.url, 'api-subscriber');
  await listenForInvalidations(subscriber, keys, { authenticator, agents: agentCache, accountHalts }, log);
  const fanout = new AuditFanout(subscriber, keys, log);
  await fanout.start();
  const audit = new AuditStore(db);
  const anchors = new AnchorStore(db);
  // Short timeout: a slow chain only makes verify answers fall back to recorded confirmations.
  const chainView = new ChainView(new EvmChain(new JsonRpcClient(effectiveChainRpcUrl(config), 1500)));
  const waiter = new ExecutionWaiter(subscriber, keys);
  await waiter.start();
  const queueConnection = bullConnection(config, 'api-queues');
  const intake = intakeQueue(config, queueConnection);
  const executions = new ExecutionStore(db);
  const executionIntake = new ExecutionIntake(executions, intake, { redis: queueConnection, key: keys.intakeFastLane }, log.child({ part: 'execution-intake' }));
  const agentEvents = new RedisAgentEvents(redis, keys, agentCache);
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
      ...agentRoutes({ agents, reader: agentCache, events: agentEvents }),
      ...executionRoutes({
        accountHalts,
        agents: agentCache,
        executions,
        intake: executionIntake,
        waiter,
        maxInputBytes: config.sandbox.maxInputBytes,
        waitAllowanceMs: config.executeWaitAllowanceMs,
      }),
      ...killSwitchRoutes({ killSwitch: new KillSwitch(db, redis, keys), agents: agentCache, accountHalts, events: agentEvents }),
      ...contextRoutes({ agents: agentCache, context: new AgentContextStore(db) }),
      ...auditRoutes({ audit, anchors, chain: chainView }),
      ...anchorRoutes({ anchors, audit, anchorerStatus: async () => parseAnchorerStatus(await redis.get(keys.anchorerStatus)) }),
      ...auditStreamRoutes({ audit, fanout, log, keepaliveMs: config.audit.streamKeepaliveMs, maxAgeMs: config.audit.streamMaxAgeMs }),
    ],
  });
  const server = createServer(app.callback());
  server.keepAliveTimeout = 65_000;
  const progressSocket = await attachProgressSocket({ server, subscriber, keys, authenticator, db, log });
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
      await progressSocket.close();
      // Live streams (SSE) never go idle: give requests in flight a moment, then cut the rest.
      const cutoff = setTimeout(() => server.closeAllConnections(), 2000);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      clearTimeout(cutoff);
      await executionIntake.idle();
      await intake.close();
      queueConnection.disconnect();
      subscriber.disconnect();
    },
  };
}

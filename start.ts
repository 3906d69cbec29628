// `npm start`: every role in one process, for a laptop or a demo. Uses DATABASE_URL,
// REDIS_URL and CHAIN_RPC_URL when set; otherwise runs an embedded PostgreSQL, a local
// redis-server and/or a local chain (anvil).
import path from 'node:path';
import { loadConfig } from './shared/config.ts';
import { createLogger } from './shared/logger.ts';
import { openConfiguredDatabase, runMigrations } from './shared/db/data-source.ts';
import { bootstrapFirstAccount } from './shared/db/bootstrap.ts';
import { startEmbeddedPostgres } from './shared/local-infra/embedded-postgres.ts';
import { ensureRedis } from './shared/local-infra/local-redis.ts';
import { connectRedis } from './shared/redis/connection.ts';
import { failStart, SHUTDOWN_DEADLINE_MS, stopOnSignal, type Closable } from './shared/process/lifecycle.ts';
import { startApiRole } from './api/api-role.ts';
import { startSchedulerRole } from './scheduler/scheduler-role.ts';
import { startAnchorerRole } from './anchorer/anchorer-role.ts';
import { anchorKey } from './shared/chain/chain-settings.ts';
import { startLocalChain } from './shared/local-infra/local-chain.ts';
import { startExecutorRole } from './executor-node/executor-role.ts';
import { EXEC_POOLS } from './shared/execution/protocol.ts';

const parts: Closable[] = [];
try {
  const config = loadConfig();
  const log = createLogger(config, { role: 'all-in-one' });
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.localPostgresPort, log });
    parts.push(embedded);
    databaseUrl = embedded.url;
  }
  const localRedis = await ensureRedis({ url: config.redis.url, dataDir: config.dataDir, log });
  if (localRedis) parts.push(localRedis);
  const anchorSigningKey = anchorKey(config);
  let chainRpcUrl = config.anchor.rpcUrl;
  if (!chainRpcUrl) {
    const chain = await startLocalChain({
      port: config.anchor.localChainPort,
      blockTimeS: config.anchor.localChainBlockTimeS,
      stateFile: path.resolve(config.dataDir, 'chain', 'anvil-state.json'),
      log,
    });
    parts.push(chain);
    chainRpcUrl = chain.url;
  }
  // pglite-socket 0.2 multiplexes clients onto PGlite's single session, and a query of one
  // pooled client can run inside another client's open transaction (we saw wrong rows and
  // hangs under concurrent upserts). One connection per process serialises them safely.
  const poolSize = config.databaseUrl ? config.dbPoolSize : 1;
  const db = await openConfiguredDatabase(config, { url: databaseUrl, poolSize, applicationName: 'tz-all-in-one' });
  parts.push({ name: 'postgres', close: () => db.destroy() });
  const applied = await runMigrations(db);
  if (applied.length > 0) log.info({ applied }, 'migrations applied');
  const bootstrap = await bootstrapFirstAccount(db);
  if (bootstrap) {
    // Printed, never logged: this is the only time the key exists outside its owner's hands.
    process.stdout.write(`\nCreated account "${bootstrap.account}". Its admin API key (shown once, store it now):\n${bootstrap.key}\n\n`);
  }
  const redis = connectRedis(config.redis.url, 'all-in-one');
  parts.push({ name: 'redis', close: async () => void redis.disconnect() });
  // The scheduler's sessions price sequential scans out (see DatabaseOptions.keyedLookupsOnly),
  // so its role gets its own pool; the embedded database has one session, which every role shares.
  let schedulerDb = db;
  if (config.databaseUrl && config.scheduler.keyedLookupsOnly) {
    const keyed = await openConfiguredDatabase(config, { url: databaseUrl, poolSize, applicationName: 'tz-all-in-one-scheduler', keyedLookupsOnly: true });
    parts.push({ name: 'postgres (scheduler)', close: () => keyed.destroy() });
    schedulerDb = keyed;
  }
  parts.push(await startSchedulerRole({ config, log, db: schedulerDb, redis }));
  // One process is the whole fleet here: unless EXECUTOR_POOLS says otherwise, its node
  // serves both pools, so STRICT agents (routed to the tee pool) run on a laptop too.
  const executorConfig = config.executor.poolsExplicit ? config : { ...config, executor: { ...config.executor, pools: [...EXEC_POOLS] } };
  parts.push(await startExecutorRole({ config: executorConfig, log, redis }));
  parts.push(await startAnchorerRole({ config, log, db, redis, rpcUrl: chainRpcUrl, key: anchorSigningKey }));
  parts.push(await startApiRole({ config, log, db, redis }));
  stopOnSignal(log, parts, config.executor.shutdownGraceMs + SHUTDOWN_DEADLINE_MS);
} catch (err) {
  failStart(err);
}

// Wires the anchorer process: config, logger, PostgreSQL, Redis, the anchorer role.
import { loadConfig, requireDatabaseUrl } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { openConfiguredDatabase } from '../shared/db/data-source.ts';
import { assertSchemaCurrent } from '../shared/db/schema-check.ts';
import { connectRedis } from '../shared/redis/connection.ts';
import { anchorKey, requireChainRpcUrl } from '../shared/chain/chain-settings.ts';
import { failStart, stopOnSignal } from '../shared/process/lifecycle.ts';
import { startAnchorerRole } from './anchorer-role.ts';

try {
  const config = loadConfig();
  const log = createLogger(config, { role: 'anchorer' });
  const rpcUrl = requireChainRpcUrl(config);
  const key = anchorKey(config);
  const db = await openConfiguredDatabase(config, { url: requireDatabaseUrl(config), poolSize: Math.min(config.dbPoolSize, 4), applicationName: 'tz-anchorer' });
  await assertSchemaCurrent(db);
  const redis = connectRedis(config.redis.url, 'anchorer');
  const anchorer = await startAnchorerRole({ config, log, db, redis, rpcUrl, key });
  stopOnSignal(log, [
    { name: 'postgres', close: () => db.destroy() },
    { name: 'redis', close: async () => void redis.disconnect() },
    anchorer,
  ]);
} catch (err) {
  failStart(err);
}

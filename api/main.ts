// Wires the api process: config, logger, PostgreSQL, Redis, HTTP server.
import { loadConfig, requireDatabaseUrl } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { openConfiguredDatabase } from '../shared/db/data-source.ts';
import { assertSchemaCurrent } from '../shared/db/schema-check.ts';
import { connectRedis } from '../shared/redis/connection.ts';
import { failStart, stopOnSignal } from '../shared/process/lifecycle.ts';
import { startApiRole } from './api-role.ts';

try {
  const config = loadConfig();
  const log = createLogger(config, { role: 'api' });
  const db = await openConfiguredDatabase(config, { url: requireDatabaseUrl(config), poolSize: config.dbPoolSize, applicationName: 'tz-api' });
  await assertSchemaCurrent(db);
  const redis = connectRedis(config.redis.url, 'api');
  const api = await startApiRole({ config, log, db, redis });
  stopOnSignal(log, [
    { name: 'postgres', close: () => db.destroy() },
    { name: 'redis', close: async () => void redis.disconnect() },
    api,
  ]);
} catch (err) {
  failStart(err);
}

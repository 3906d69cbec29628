// Wires the scheduler process: config, logger, PostgreSQL, Redis, the scheduler role.
import { loadConfig, requireDatabaseUrl } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { openConfiguredDatabase } from '../shared/db/data-source.ts';
import { assertSchemaCurrent } from '../shared/db/schema-check.ts';
import { connectRedis } from '../shared/redis/connection.ts';
import { failStart, stopOnSignal } from '../shared/process/lifecycle.ts';
import { startSchedulerRole } from './scheduler-role.ts';

try {
  const config = loadConfig();
  const log = createLogger(config, { role: 'scheduler' });
  const db = await openConfiguredDatabase(config, {
    url: requireDatabaseUrl(config),
    poolSize: config.dbPoolSize,
    applicationName: 'tz-scheduler',
    keyedLookupsOnly: config.scheduler.keyedLookupsOnly,
  });
  await assertSchemaCurrent(db);
  const redis = connectRedis(config.redis.url, 'scheduler');
  const scheduler = await startSchedulerRole({ config, log, db, redis });
  stopOnSignal(log, [
    { name: 'postgres', close: () => db.destroy() },
    { name: 'redis', close: async () => void redis.disconnect() },
    scheduler,
  ]);
} catch (err) {
  failStart(err);
}

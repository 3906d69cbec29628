// Wires the executor-node process: config, logger, Redis, the executor role. No database.
import { loadConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { connectRedis } from '../shared/redis/connection.ts';
import { failStart, SHUTDOWN_DEADLINE_MS, stopOnSignal } from '../shared/process/lifecycle.ts';
import { startExecutorRole } from './executor-role.ts';

try {
  const config = loadConfig();
  const log = createLogger(config, { role: 'executor' });
  const redis = connectRedis(config.redis.url, 'executor');
  const executor = await startExecutorRole({ config, log, redis });
  // Running executions get their grace period before the process gives up on a clean stop.
  stopOnSignal(log, [{ name: 'redis', close: async () => void redis.disconnect() }, executor], config.executor.shutdownGraceMs + SHUTDOWN_DEADLINE_MS);
} catch (err) {
  failStart(err);
}

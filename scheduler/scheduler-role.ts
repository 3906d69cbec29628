// The scheduler role. Today it runs the audit recorder; the intake consumer, halts and
// rate limits join it with the execution pipeline.
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Config } from '../shared/config.ts';
import type { Logger } from '../shared/logger.ts';
import type { Closable } from '../shared/process/lifecycle.ts';
import { redisKeys } from '../shared/redis/keys.ts';
import { connectRedis } from '../shared/redis/connection.ts';
import { AuditRecorder } from './recorder/audit-recorder.ts';

export interface SchedulerRoleDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly db: DataSource;
  readonly redis: Redis;
}

export async function startSchedulerRole({ config, log, db, redis }: SchedulerRoleDeps): Promise<Closable> {
  const reader = connectRedis(config.redis.url, 'audit-recorder-reader');
  const recorder = new AuditRecorder({
    db,
    redis,
    reader,
    keys: redisKeys(config.redis.prefix),
    log: log.child({ part: 'audit-recorder' }),
    options: { batchSize: config.audit.recorderBatchSize, leaseMs: config.audit.recorderLeaseMs },
  });
  await recorder.start();
  log.info('scheduler started');
  return {
    name: 'scheduler',
    async close() {
      await recorder.close();
      reader.disconnect();
    },
  };
}

// Opens the database (and Redis when needed) for one CLI command and closes them after.
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Config } from '../shared/config.ts';
import { openConfiguredDatabase } from '../shared/db/data-source.ts';
import { effectiveDatabaseUrl } from '../shared/db/database-url.ts';
import { connectRedis } from '../shared/redis/connection.ts';

export async function withDatabase<T>(config: Config, fn: (db: DataSource) => Promise<T>): Promise<T> {
  const url = effectiveDatabaseUrl(config);
  let db: DataSource;
  try {
    db = await openConfiguredDatabase(config, { url, poolSize: 1, applicationName: 'tz-cli' });
  } catch (err) {
    const where = config.databaseUrl ? 'DATABASE_URL' : `the embedded PostgreSQL on port ${config.localPostgresPort} (is \`npm start\` running?)`;
    throw new Error(`cannot connect to ${where}: ${(err as Error).message}`);
  }
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

export async function withRedis<T>(config: Config, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = connectRedis(config.redis.url, 'tz-cli');
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

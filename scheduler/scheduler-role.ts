// The scheduler role: the audit recorder, the intake consumer (halts, rate limits,
// routing), the results consumer (persisting what nodes report, and the endings published
// ahead of reports for synchronous callers) and the sweeper.
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Config } from '../shared/config.ts';
import type { Logger } from '../shared/logger.ts';
import type { Closable } from '../shared/process/lifecycle.ts';
import { ExecutionStore } from '../shared/db/stores/execution-store.ts';
import { bullConnection, execQueue, intakeQueue, resultsQueue } from '../shared/execution/queues.ts';
import { redisKeys } from '../shared/redis/keys.ts';
import { connectRedis } from '../shared/redis/connection.ts';
import { AuditRecorder } from './recorder/audit-recorder.ts';
import { ExecutionFinisher } from './execution-finisher.ts';
import { startIntakeConsumer } from './intake/intake-consumer.ts';
import { startResultsAheadListener } from './results/results-ahead-listener.ts';
import { persistNodeMessages, startResultsConsumer } from './results/results-consumer.ts';
import { startExecutionSweeper } from './sweeper/execution-sweeper.ts';

export interface SchedulerRoleDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly db: DataSource;
  readonly redis: Redis;
}

export async function startSchedulerRole({ config, log, db, redis }: SchedulerRoleDeps): Promise<Closable> {
  const keys = redisKeys(config.redis.prefix);
  const reader = connectRedis(config.redis.url, 'audit-recorder-reader');
  const recorder = new AuditRecorder({
    db,
    redis,
    reader,
    keys,
    log: log.child({ part: 'audit-recorder' }),
    options: { batchSize: config.audit.recorderBatchSize, leaseMs: config.audit.recorderLeaseMs },
  });
  await recorder.start();

  const queueConnection = bullConnection(config, 'scheduler-queues');
  const intake = intakeQueue(config, queueConnection);
  const execQueues = { standard: execQueue(config, queueConnection, 'standard'), tee: execQueue(config, queueConnection, 'tee') };
  const results = resultsQueue(config, queueConnection);
  const executions = new ExecutionStore(db);
  const finisher = new ExecutionFinisher(executions, redis, keys, log);
  const resultsDeps = { config, executions, finisher, log: log.child({ part: 'results' }) };
  const resultsAhead = await startResultsAheadListener({
    subscriber: connectRedis(config.redis.url, 'scheduler-results-ahead'),
    keys,
    persist: (messages, source) => persistNodeMessages(resultsDeps, messages, source),
    log: resultsDeps.log,
  });
  const parts: Closable[] = [
    resultsAhead,
    startIntakeConsumer({ config, db, redis, keys, executions, finisher, execQueues, intake, log: log.child({ part: 'intake' }) }),
    startResultsConsumer(resultsDeps),
    startExecutionSweeper({
      executions,
      finisher,
      intake,
      execQueues,
      results,
      redis,
      recover: (messages) => persistNodeMessages(resultsDeps, messages, 'completed job'),
      intervalMs: config.scheduler.sweepIntervalMs,
      log: log.child({ part: 'sweeper' }),
    }),
  ];
  log.info('scheduler started');
  return {
    name: 'scheduler',
    async close() {
      for (const part of [...parts].reverse()) await part.close();
      await Promise.all([intake.close(), execQueues.standard.close(), execQueues.tee.close(), results.close()]);
      queueConnection.disconnect();
      await recorder.close();
      reader.disconnect();
    },
  };
}

// The executor-node role: consumes the exec queues of its pools, runs each job in the
// node's one sandbox pool, and hands back results, audit events and live progress through
// Redis. It never opens the database and holds no master keys.
import type { Redis } from 'ioredis';
import { RedisAuditSink } from '../shared/audit/audit-sink.ts';
import type { Config } from '../shared/config.ts';
import type { Logger } from '../shared/logger.ts';
import type { Closable } from '../shared/process/lifecycle.ts';
import { connectRedis } from '../shared/redis/connection.ts';
import { redisKeys } from '../shared/redis/keys.ts';
import { AuditBuffer } from './execution/audit-buffer.ts';
import { ExecConsumer } from './execution/exec-consumer.ts';
import { ExecJobProcessor } from './execution/exec-job-processor.ts';
import { ProgressPublisher } from './execution/progress-publisher.ts';
import { ResultsPublisher } from './execution/results-publisher.ts';
import { RunningExecutions } from './execution/running-executions.ts';
import { KillListener } from './node/kill-listener.ts';
import { NodeRegistry } from './node/node-registry.ts';
import { SandboxPool } from './sandbox/sandbox-pool.ts';

export interface ExecutorRoleDeps {
  readonly config: Config;
  readonly log: Logger;
  /** Shared commands connection: halt reads, progress, audit appends, heartbeats. */
  readonly redis: Redis;
}

export interface RunningExecutor extends Closable {
  readonly nodeId: string;
}

export async function startExecutorRole({ config, log: rootLog, redis }: ExecutorRoleDeps): Promise<RunningExecutor> {
  const { nodeId, pools, lockMs, shutdownGraceMs } = config.executor;
  const log = rootLog.child({ nodeId });
  const keys = redisKeys(config.redis.prefix);
  const connect = (name: string) => connectRedis(config.redis.url, name);

  const pool = new SandboxPool({ settings: config.sandbox, logger: log });
  const running = new RunningExecutions();
  const audit = new AuditBuffer(new RedisAuditSink(redis, keys), log.child({ part: 'audit-buffer' }));
  const resultsConnection = connect('executor-results');
  const results = new ResultsPublisher(resultsConnection, config.redis.prefix, keys.resultsAheadChannel);
  const processor = new ExecJobProcessor({
    nodeId,
    pool,
    results,
    progress: new ProgressPublisher(redis, keys, log),
    audit,
    running,
    log,
  });
  const subscriber = connect('executor-kill');
  const kills = new KillListener({ subscriber, redis, keys, running, pool, log: log.child({ part: 'kill-listener' }) });
  await kills.start();
  const registry = new NodeRegistry({
    redis,
    keys,
    nodeId,
    pools,
    threads: config.sandbox.poolSize,
    running: () => running.size,
    log: log.child({ part: 'node-registry' }),
  });
  await registry.start();
  const consumer = new ExecConsumer({
    options: {
      nodeId,
      pools,
      prefix: config.redis.prefix,
      concurrency: config.sandbox.poolSize,
      lockMs,
      handBackTimeoutMs: config.sandbox.killGraceMs + 5000,
    },
    processor,
    running,
    pool,
    connect,
    log,
  });
  await consumer.start();
  log.info({ pools, threads: config.sandbox.poolSize }, 'executor node started');

  return {
    name: 'executor',
    nodeId,
    async close() {
      // Kills keep landing while running executions finish within the grace.
      await consumer.close(shutdownGraceMs);
      await settleOrAbandon(audit, config.sandbox.killGraceMs + 5000);
      await pool.destroy();
      await registry.close().catch((err: unknown) => log.warn({ err }, 'could not remove the node from the registry'));
      await results.close().catch((err: unknown) => log.warn({ err }, 'could not close the results queue'));
      resultsConnection.disconnect();
      subscriber.disconnect();
      log.info('executor node stopped');
    },
  };
}

/** Flushes what is buffered, giving up (and saying so) if Redis does not take it in time. */
async function settleOrAbandon(audit: AuditBuffer, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const outcome = await Promise.race([audit.flush().then(() => 'flushed' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') audit.abandon();
}

// BullMQ plumbing shared by every role: queue options under the configured Redis prefix,
// job ids, and the small intake payload.
import { Queue, Worker, type Job, type QueueOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Closable } from '../process/lifecycle.ts';
import { QUEUES, type ExecPool } from './protocol.ts';

/** A connection of its own: BullMQ workers block on theirs. */
export function bullConnection(config: Config, name: string): Redis {
  return new Redis(config.redis.url, { maxRetriesPerRequest: null, connectionName: name });
}

export function queueOptions(config: Config, connection: Redis): QueueOptions {
  return { connection, prefix: config.redis.prefix };
}

/** BullMQ refuses purely numeric custom ids, and ours must be stable across retries. */
export const executionJobId = (executionId: number) => `e${executionId}`;

export const MAX_EXECUTIONS_PER_INTAKE_JOB = 1000;

/** Completed intake jobs kept (at most an hour). */
export const INTAKE_JOBS_KEPT = 10_000;

/** Executions queued together (one api batch, or one sweep) travel as one intake job. */
export const intakeJobSchema = z
  .object({ executionIds: z.array(z.number().int().positive().max(Number.MAX_SAFE_INTEGER)).min(1).max(MAX_EXECUTIONS_PER_INTAKE_JOB) })
  .strict();
export type IntakeJob = z.output<typeof intakeJobSchema>;

/**
 * A consumer of one of the scheduler's queues on a connection of its own: `name` names the
 * part (and its Redis connection), failures are logged with the job id.
 */
export function startQueueConsumer<T>(
  config: Config,
  options: { name: string; queue: string; concurrency: number; log: Logger },
  processor: (job: Job<T>) => Promise<void>,
): Closable {
  const connection = bullConnection(config, `scheduler-${options.name}`);
  const worker = new Worker<T>(options.queue, processor, { ...queueOptions(config, connection), concurrency: options.concurrency });
  worker.on('failed', (job, err) => options.log.error({ err, jobId: job?.id, queue: options.queue }, 'job failed'));
  return {
    name: `${options.name}-consumer`,
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}

export function intakeQueue(config: Config, connection: Redis): Queue<IntakeJob> {
  return new Queue<IntakeJob>(QUEUES.intake, {
    ...queueOptions(config, connection),
    // A completed intake job serves nothing but a look back (the sweeper reads waiting ones):
    // at one a request under a moderate async load an hour of them was hundreds of MB.
    defaultJobOptions: {
      removeOnComplete: { age: 3600, count: INTAKE_JOBS_KEPT },
      removeOnFail: { age: 86_400 },
      attempts: 5,
      backoff: { type: 'exponential', delay: 200 },
    },
  });
}

/** The nodes' reports, as the scheduler reads them (nodes add them with their own options). */
export function resultsQueue(config: Config, connection: Redis): Queue {
  return new Queue(QUEUES.results, queueOptions(config, connection));
}

export function execQueue(config: Config, connection: Redis, pool: ExecPool): Queue {
  return new Queue(QUEUES.exec(pool), {
    ...queueOptions(config, connection),
    // Kept a while after the end so the sweeper can tell a lost job from a finished one and
    // read the ending of one whose report was lost, which it does within seconds. Each holds
    // the job's data and its ending: an hour of them at a thousand a second was gigabytes of
    // Redis, so the count is bounded too.
    defaultJobOptions: { removeOnComplete: { age: 3600, count: config.scheduler.execJobsKept }, removeOnFail: { age: 86_400 } },
  });
}

// One BullMQ Worker per pool queue this node serves (exec-standard, exec-tee), all feeding
// the node's one sandbox pool. Owns what BullMQ decides for us: how many jobs run at
// once, how fast a dead node's jobs are noticed, and how running jobs leave on shutdown.
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES, type ExecPool } from '../../shared/execution/protocol.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SandboxPool } from '../sandbox/sandbox-pool.ts';
import type { ExecJobOutcome, ExecJobProcessor } from './exec-job-processor.ts';
import type { RunningExecutions } from './running-executions.ts';

export interface ExecConsumerOptions {
  readonly nodeId: string;
  readonly pools: readonly ExecPool[];
  readonly prefix: string;
  /** Jobs each worker runs at once: the sandbox pool's thread count. */
  readonly concurrency: number;
  readonly lockMs: number;
  /** After a hand-back, how long the jobs may take to leave before close gives up on them. */
  readonly handBackTimeoutMs: number;
}

export interface ExecConsumerDeps {
  readonly options: ExecConsumerOptions;
  readonly processor: ExecJobProcessor;
  readonly running: RunningExecutions;
  readonly pool: Pick<SandboxPool, 'terminate'>;
  /** Makes a BullMQ connection (a Worker blocks on its own). */
  readonly connect: (name: string) => Redis;
  readonly log: Logger;
}

/** While Redis is away, every reconnect attempt of every connection reports the same error. */
const REPEATED_ERROR_QUIET_MS = 5000;

export class ExecConsumer {
  private readonly workers: Worker<unknown, ExecJobOutcome>[] = [];
  private readonly connections: Redis[] = [];
  private readonly lastLogged = new Map<string, number>();

  constructor(private readonly deps: ExecConsumerDeps) {}

  async start(): Promise<void> {
    const { options, processor, log } = this.deps;
    for (const pool of options.pools) {
      const queue = QUEUES.exec(pool);
      const connection = this.deps.connect(`executor-${queue}`);
      this.connections.push(connection);
      const worker = new Worker<unknown, ExecJobOutcome>(queue, (job, token) => processor.process(job, token), {
        connection,
        prefix: options.prefix,
        name: options.nodeId,
        concurrency: options.concurrency,
        // A lock not renewed for lockMs marks the job stalled at the next check of any
        // node; stalled once, it is retried; stalled twice, BullMQ fails it ("job stalled
        // more than allowable limit") and the scheduler ends the execution node_lost.
        lockDuration: options.lockMs,
        stalledInterval: options.lockMs,
        maxStalledCount: 1,
      });
      worker.on('error', (err) => this.onWorkerError(queue, err));
      worker.on('failed', (job, err) => log.warn({ jobId: job?.id, queue, err }, 'exec job failed'));
      // Another node may already be running it: stop ours rather than run it twice.
      worker.on('lockRenewalFailed', (jobIds) => this.abandon(jobIds));
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  /**
   * Stops taking jobs and lets running ones finish within graceMs. Past the grace, each
   * running execution is stopped and its job moved back to the wait list for another node
   * (its result is not reported). If even that cannot complete (Redis unreachable), close
   * returns anyway: the locks then expire and stall detection hands the jobs on.
   */
  async close(graceMs: number): Promise<void> {
    const { running, log, options } = this.deps;
    const closed = Promise.all(this.workers.map((w) => w.close()));
    closed.catch(() => undefined);
    if (running.size > 0) log.info({ running: running.size, graceMs }, 'waiting for running executions to finish');
    if (!(await settlesWithin(closed, graceMs))) {
      const executions = running.all();
      log.warn({ running: executions.length }, 'shutdown grace over: handing running executions back');
      for (const execution of executions) {
        execution.handBack ??= 'shutdown';
        execution.stopReason ??= 'the executor node is shutting down';
        this.deps.pool.terminate(execution.executionId, execution.stopReason);
      }
      if (!(await settlesWithin(closed, options.handBackTimeoutMs))) {
        log.error({ running: running.size }, 'running jobs could not be handed back; stall detection will retry them');
      }
    }
    for (const connection of this.connections) connection.disconnect();
  }

  private onWorkerError(queue: string, err: Error): void {
    const key = `${queue}:${err.message}`;
    const now = Date.now();
    if (now - (this.lastLogged.get(key) ?? 0) < REPEATED_ERROR_QUIET_MS) return;
    if (this.lastLogged.size > 100) this.lastLogged.clear();
    this.lastLogged.set(key, now);
    this.deps.log.error({ err, queue }, 'exec worker error');
  }

  private abandon(jobIds: string[]): void {
    for (const jobId of jobIds) {
      for (const execution of this.deps.running.withJobId(jobId)) {
        execution.handBack ??= 'lock_lost';
        execution.stopReason ??= 'the job lock was lost';
        this.deps.pool.terminate(execution.executionId, execution.stopReason);
      }
    }
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const controller = new AbortController();
  const timeout = sleep(ms, false, { signal: controller.signal }).catch(() => false);
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    controller.abort();
  }
}

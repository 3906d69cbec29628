// Sends a node's messages (started, finished, refused) to the scheduler on the durable
// `results` queue. Messages ready at the same time travel together as one report job:
// at rest each goes alone and at once, under load one job carries many (see
// CoalescingBatcher), which is what keeps the results hop cheap per execution. The
// scheduler's handling is idempotent, so a report repeated after a hiccup changes nothing.
// The ending of an execution a synchronous caller waits for is also published at once on
// the results-ahead channel: the scheduler persists it from there without waiting for the
// report job's hop. When a scheduler heard that publish, the report is only a backup and
// waits a while to share one job with others (see AHEAD_REPORT_DELAY_MS).
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { MAX_MESSAGES_PER_REPORT, nodeMessageSchema, QUEUES, type NodeMessage, type NodeReport } from '../../shared/execution/protocol.ts';
import { HeldBatch } from '../../shared/process/held-batch.ts';
import { CoalescingBatcher } from '../../shared/process/coalescing-batcher.ts';

/**
 * Completed reports are kept a little while and bounded in number: a `finished` message
 * carries a whole result. The scheduler's processing is retried (its writes are
 * idempotent), so a database hiccup loses nothing.
 */
const REPORT_JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 250 },
  removeOnComplete: { age: 600, count: 1000 },
  removeOnFail: { age: 7 * 86_400 },
} as const;

/**
 * How long the report of an ending a scheduler already heard ahead may wait for others to
 * travel with. The scheduler persists the ending from the ahead message; the report is a
 * backup (and the exec job's return value holds the message durably for the sweeper), so
 * at a synchronous caller's pace one report job a second replaces one per execution, and
 * with it the report's pickup and handling in the scheduler. An ending nobody heard
 * (PUBLISH reached no subscriber) is reported at once.
 */
export const AHEAD_REPORT_DELAY_MS = 1000;

/** Reports being added at once. */
const REPORTS_IN_FLIGHT = 2;
/**
 * Least time between two reports while messages stream in. No run waits for its report
 * (the job's return value already holds the message), so under load messages wait up to
 * this long to share one: each report costs a job on both sides and a write per batch in
 * the scheduler. Messages that come one at a time (a synchronous caller waiting for each
 * run) always go at once (see CoalescingBatcher). Measured with 5,000 async
 * executions: 20 ms instead of 5 ms took the database's CPU per execution from 1.3 to
 * 0.8 ms and the scheduler's from 1.9 to 1.4 ms (docs/architecture.md).
 */
const REPORT_INTERVAL_MS = 20;

export class ResultsPublisher {
  private readonly queue: Queue;
  private readonly batcher: CoalescingBatcher<NodeMessage, void>;
  /** Endings already heard ahead, waiting to be reported together. */
  private readonly heardAhead: HeldBatch<NodeMessage>;

  constructor(
    private readonly connection: Redis,
    prefix: string,
    private readonly aheadChannel: string,
    aheadReportDelayMs = AHEAD_REPORT_DELAY_MS,
  ) {
    this.queue = new Queue(QUEUES.results, { connection, prefix });
    this.batcher = new CoalescingBatcher((messages) => this.report(messages), {
      maxBatch: MAX_MESSAGES_PER_REPORT,
      maxInFlight: REPORTS_IN_FLIGHT,
      minIntervalMs: REPORT_INTERVAL_MS,
    });
    this.heardAhead = new HeldBatch(aheadReportDelayMs, async (messages) => {
      await Promise.all(messages.map((message) => this.batcher.submit(message)));
    });
  }

  /**
   * Resolves once the message is in Redis, in a report. With `ahead` it is first published
   * on the results-ahead channel, best effort: if a scheduler heard it, the report may wait
   * up to AHEAD_REPORT_DELAY_MS to share a job with others.
   */
  async send(message: NodeMessage, options: { readonly ahead?: boolean } = {}): Promise<void> {
    // Our own output, checked anyway: the scheduler drops what does not parse.
    const checked = nodeMessageSchema.parse(message);
    if (!options.ahead) return this.batcher.submit(checked);
    const heard = await this.connection.publish(this.aheadChannel, JSON.stringify(checked)).catch(() => 0);
    return heard === 0 ? this.batcher.submit(checked) : this.heardAhead.add([checked]);
  }

  async close(): Promise<void> {
    await this.heardAhead.flush().catch(() => undefined);
    await this.batcher.idle();
    await this.queue.close();
  }

  private async report(messages: NodeMessage[]): Promise<void[]> {
    const report: NodeReport = { messages };
    await this.queue.add('report', report, REPORT_JOB_OPTIONS);
    return messages.map(() => undefined);
  }
}

// Sends a node's messages (started, finished, refused) to the scheduler on the durable
// `results` queue. Job ids are deterministic per message and attempt, so a node that
// repeats a send after a hiccup adds nothing new while the first copy is still kept.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { nodeMessageSchema, QUEUES, type NodeMessage } from '../../shared/execution/protocol.ts';

/**
 * Completed messages are kept a while (the window in which a duplicate id is dropped) and
 * bounded in number: a `finished` message carries a whole result. The scheduler's
 * processing is retried (its writes are idempotent), so a database hiccup loses nothing.
 */
const MESSAGE_JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 250 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 86_400 },
} as const;

/** The results-queue job id of a message; `attempt` is the exec job's attemptsStarted. */
export function messageJobId(message: NodeMessage, attempt: number): string {
  if (message.type === 'started') return `${message.executionId}-started-${attempt}`;
  return `${message.executionId}-${message.type}`;
}

export class ResultsPublisher {
  private readonly queue: Queue;

  constructor(connection: Redis, prefix: string) {
    this.queue = new Queue(QUEUES.results, { connection, prefix });
  }

  /** Resolves once the message is in Redis. */
  async send(message: NodeMessage, attempt: number): Promise<void> {
    // Our own output, checked anyway: the scheduler rejects what does not parse.
    const parsed = nodeMessageSchema.parse(message);
    await this.queue.add(parsed.type, parsed, { ...MESSAGE_JOB_OPTIONS, jobId: messageJobId(parsed, attempt) });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

// Lets a synchronous execute wait for its execution to end. The scheduler publishes a
// done notice on one channel when an execution a caller waits for (`awaited`) ends,
// carrying the execution itself when it is small; this process's subscriber hands it to
// the matching waiter. A lost notice
// costs at most one poll interval: waiters also re-read the database.
import type { Redis } from 'ioredis';
import { doneNoticeSchema, type DoneNotice } from '../../shared/execution/protocol.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';

const POLL_MS = 1000;

/** The execution as the API presents it, or null while it has not ended. */
export type FinalExecutionLoader = () => Promise<Record<string, unknown> | null>;

export class ExecutionWaiter {
  private readonly waiting = new Map<number, Set<(notice: DoneNotice) => void>>();

  constructor(
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.keys.executionDoneChannel) return;
      let notice: DoneNotice;
      try {
        const raw = JSON.parse(message) as { executionId?: unknown };
        // Every api process receives every notice: validate only the ones a caller here waits for.
        if (!this.waiting.has(Number(raw.executionId))) return;
        notice = doneNoticeSchema.parse(raw);
      } catch {
        return;
      }
      for (const wake of this.waiting.get(notice.executionId) ?? []) wake(notice);
    });
    await this.subscriber.subscribe(this.keys.executionDoneChannel);
  }

  /**
   * Resolves with the ended execution (from its done notice, or from `load` when the notice
   * does not carry it or did not come within a poll interval), or null on timeout.
   * Call it as soon as the execution is queued: a notice before the call is only seen by polling.
   */
  async wait(executionId: number, timeoutMs: number, load: FinalExecutionLoader): Promise<Record<string, unknown> | null> {
    const deadline = Date.now() + timeoutMs;
    let wake: (notice: DoneNotice) => void = () => undefined;
    const set = this.waiting.get(executionId) ?? new Set();
    this.waiting.set(executionId, set);
    try {
      for (;;) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) return null;
        let timer: NodeJS.Timeout | undefined;
        const notice = await new Promise<DoneNotice | null>((resolve) => {
          wake = resolve;
          set.add(resolve);
          timer = setTimeout(() => resolve(null), Math.min(POLL_MS, remaining));
        });
        clearTimeout(timer);
        set.delete(wake);
        if (notice?.execution) return notice.execution;
        const loaded = await load();
        if (loaded) return loaded;
      }
    } finally {
      set.delete(wake);
      if (set.size === 0) this.waiting.delete(executionId);
    }
  }
}

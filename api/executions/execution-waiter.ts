// Lets a synchronous execute wait for its execution to end. The scheduler publishes every
// final state on one channel; this process's subscriber wakes the matching waiter. A
// lost message costs at most one poll interval: waiters also re-check the database.
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../../shared/redis/keys.ts';

const POLL_MS = 1000;

export class ExecutionWaiter {
  private readonly waiting = new Map<number, Set<() => void>>();

  constructor(
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.keys.executionDoneChannel) return;
      let executionId: number;
      try {
        executionId = Number((JSON.parse(message) as { executionId: unknown }).executionId);
      } catch {
        return;
      }
      for (const wake of this.waiting.get(executionId) ?? []) wake();
    });
    await this.subscriber.subscribe(this.keys.executionDoneChannel);
  }

  /** Resolves true once `isDone()` holds (checked on each notification and poll), false on timeout. */
  async wait(executionId: number, timeoutMs: number, isDone: () => Promise<boolean>): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let wake: () => void = () => undefined;
    const set = this.waiting.get(executionId) ?? new Set();
    this.waiting.set(executionId, set);
    try {
      for (;;) {
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
          set.add(resolve);
        });
        if (await isDone()) return true;
        const remaining = deadline - Date.now();
        if (remaining <= 0) return false;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([woken, new Promise<void>((r) => (timer = setTimeout(r, Math.min(POLL_MS, remaining))))]);
        clearTimeout(timer);
        set.delete(wake);
      }
    } finally {
      set.delete(wake);
      if (set.size === 0) this.waiting.delete(executionId);
    }
  }
}

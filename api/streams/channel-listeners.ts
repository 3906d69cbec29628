// Who listens on which Redis pub/sub channel of one subscriber connection. The connection
// is subscribed to a channel only while the channel has a listener in this process, so the
// process is not woken by messages that nobody here wants.
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';

interface ChannelState<L> {
  readonly listeners: Set<L>;
  /**
   * The SUBSCRIBE of this channel, pending or confirmed; null after a failed one. Joins share
   * it, so concurrent joins send one command and all wait for its confirmation.
   */
  subscribed: Promise<void> | null;
}

export class ChannelListeners<L> {
  private readonly channels = new Map<string, ChannelState<L>>();

  constructor(
    private readonly subscriber: Redis,
    private readonly log: Logger,
    /**
     * How long a join waits for its SUBSCRIBE. The connection queues commands while Redis is
     * unreachable (maxRetriesPerRequest: null), so without a limit a join would wait forever.
     */
    private readonly subscribeTimeoutMs: number,
  ) {}

  /** The listeners of a channel, or undefined when nobody here listens on it. */
  listenersOf(channel: string): ReadonlySet<L> | undefined {
    return this.channels.get(channel)?.listeners;
  }

  /**
   * Adds a listener and resolves once the connection is subscribed to the channel, so that
   * every message published after that reaches this process. Rejects, with the listener
   * removed, when the SUBSCRIBE fails or is not confirmed in time.
   */
  async join(channel: string, listener: L): Promise<void> {
    let state = this.channels.get(channel);
    if (!state) this.channels.set(channel, (state = { listeners: new Set(), subscribed: null }));
    state.listeners.add(listener);
    state.subscribed ??= this.subscribe(channel, state);
    try {
      await state.subscribed;
    } catch (err) {
      this.leave(channel, listener);
      throw err;
    }
  }

  /** Removes a listener; the channel's last one unsubscribes the connection from it. */
  leave(channel: string, listener: L): void {
    const state = this.channels.get(channel);
    if (!state?.listeners.delete(listener) || state.listeners.size > 0) return;
    this.channels.delete(channel);
    // Redis runs one connection's commands in order: a join arriving now sends its SUBSCRIBE
    // after this UNSUBSCRIBE (its state is a new one), so it ends up subscribed.
    if (state.subscribed) this.unsubscribe(channel);
  }

  private subscribe(channel: string, state: ChannelState<L>): Promise<void> {
    return this.subscribeWithinTimeout(channel).catch((err: unknown) => {
      this.log.warn({ err, channel }, 'channel subscription failed');
      // The next join retries with a fresh SUBSCRIBE. A timed-out one is still queued and runs
      // when Redis is back, so undo it, in order, before that retry. If the state is gone, its
      // last listener left and leave() sent the UNSUBSCRIBE already; a newer state's SUBSCRIBE
      // must not be undone.
      if (this.channels.get(channel) === state) {
        state.subscribed = null;
        this.unsubscribe(channel);
      }
      throw err;
    });
  }

  private async subscribeWithinTimeout(channel: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`SUBSCRIBE not confirmed within ${this.subscribeTimeoutMs} ms`)), this.subscribeTimeoutMs);
    });
    try {
      await Promise.race([this.subscriber.subscribe(channel), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private unsubscribe(channel: string): void {
    this.subscriber.unsubscribe(channel).catch((err: unknown) => this.log.warn({ err, channel }, 'channel unsubscribe failed'));
  }
}

// Persists the endings nodes publish ahead of their reports, for executions a synchronous
// caller waits for: the caller's answer then waits for one publish instead of a report job
// being added, picked up and started. Best effort by design: a message missed here (this
// process was reconnecting, or another scheduler took it first) still arrives in the
// node's report, and the final write is conditional, so whichever comes first wins and the
// other changes nothing. Every scheduler process receives every message; the first write
// wins and the rest are no-ops, which only synchronous executions pay for.
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Closable } from '../../shared/process/lifecycle.ts';

export interface ResultsAheadDeps {
  /** A connection of its own: a subscribed connection can do nothing else. */
  readonly subscriber: Redis;
  readonly keys: RedisKeys;
  /** The results consumer's persistence: parses each message and writes it idempotently. */
  readonly persist: (messages: readonly unknown[], source: string) => Promise<void>;
  readonly log: Logger;
}

/** Larger messages are left to the report (a result is bounded there too); parsing them here would only stall the loop. */
const MAX_AHEAD_MESSAGE_BYTES = 256 * 1024;

export async function startResultsAheadListener(deps: ResultsAheadDeps): Promise<Closable> {
  const { subscriber, keys, log } = deps;
  const inFlight = new Set<Promise<void>>();
  subscriber.on('message', (channel: string, text: string) => {
    if (channel !== keys.resultsAheadChannel) return;
    if (text.length > MAX_AHEAD_MESSAGE_BYTES) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      log.warn('results-ahead message is not JSON; dropped (its report still comes)');
      return;
    }
    const persisted = deps
      .persist([message], 'results-ahead')
      .catch((err: unknown) => log.warn({ err }, 'results-ahead message not persisted; its report will be'))
      .finally(() => inFlight.delete(persisted));
    inFlight.add(persisted);
  });
  await subscriber.subscribe(keys.resultsAheadChannel);
  return {
    name: 'results-ahead-listener',
    async close() {
      await subscriber.unsubscribe(keys.resultsAheadChannel).catch(() => undefined);
      await Promise.all(inFlight);
      subscriber.disconnect();
    },
  };
}

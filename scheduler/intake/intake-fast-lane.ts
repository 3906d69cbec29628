// The intake's fast lane: batches holding an execution a synchronous caller waits for,
// pushed by the api onto a Redis list (api/executions/execution-intake.ts) and popped
// here, each by one scheduler. A BullMQ intake job costs about seven round trips between
// its add and its completion (the worker's fetches, markers and completion), each waking
// a process; at a synchronous caller's pace that was a large share of an execution's
// cost, and one of them sat on the way to the run. A pop is one.
//
// What the list does not give is a retry: a batch popped by a scheduler that dies before
// dispatching it is gone. Its executions stay queued, and the sweeper enqueues them again
// (an execution queued for a few seconds without an intake job is what it looks for). A
// dispatch that fails here goes to the intake queue, for BullMQ's retries. Dispatching an
// execution twice changes nothing (see dispatchBatch).
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { intakeJobSchema } from '../../shared/execution/queues.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Closable } from '../../shared/process/lifecycle.ts';

export interface IntakeFastLaneDeps {
  /** A connection of its own: BRPOP holds it. */
  readonly connection: Redis;
  readonly key: string;
  /** Batches dispatched at once. */
  readonly concurrency: number;
  readonly dispatch: (executionIds: number[]) => Promise<void>;
  /** Where a batch whose dispatch failed goes (the intake queue). */
  readonly retryLater: (executionIds: number[]) => Promise<void>;
  readonly log: Logger;
}

/**
 * How long one BRPOP waits; the loop re-checks for close between waits. Closing waits for
 * the pop in progress rather than cutting the connection, which could lose a batch
 * Redis had already handed over.
 */
const POP_TIMEOUT_S = 0.25;
/** After Redis errors, before popping again (the connection reconnects meanwhile). */
const ERROR_PAUSE_MS = 500;

export function startIntakeFastLane(deps: IntakeFastLaneDeps): Closable {
  const { connection, key, log } = deps;
  const inFlight = new Set<Promise<void>>();
  let stopped = false;

  const handle = async (text: string): Promise<void> => {
    let executionIds: number[];
    try {
      executionIds = intakeJobSchema.parse(JSON.parse(text)).executionIds;
    } catch (err) {
      // Only the api pushes here; a batch we cannot read is a bug, and its executions are
      // still queued in the database for the sweeper.
      log.error({ err, batch: text.slice(0, 200) }, 'unreadable fast-lane intake batch dropped');
      return;
    }
    try {
      await deps.dispatch(executionIds);
    } catch (err) {
      log.warn({ err, executions: executionIds.length }, 'fast-lane dispatch failed; handing the batch to the intake queue');
      await deps.retryLater(executionIds).catch((retryErr: unknown) =>
        log.error({ err: retryErr, executions: executionIds.length }, 'fast-lane batch not handed on; the sweeper will enqueue it'),
      );
    }
  };

  const loop = (async () => {
    while (!stopped) {
      if (inFlight.size >= deps.concurrency) {
        await Promise.race(inFlight);
        continue;
      }
      let reply: [string, string] | null;
      try {
        reply = await connection.brpop(key, POP_TIMEOUT_S);
      } catch (err) {
        if (stopped) break;
        log.warn({ err }, 'fast-lane pop failed; retrying');
        await sleep(ERROR_PAUSE_MS);
        continue;
      }
      if (!reply) continue;
      const handled = handle(reply[1]).finally(() => inFlight.delete(handled));
      inFlight.add(handled);
    }
  })();

  return {
    name: 'intake-fast-lane',
    async close() {
      stopped = true;
      // A pop in progress returns within POP_TIMEOUT_S; what it brings is still dispatched.
      await loop;
      await Promise.all(inFlight);
      connection.disconnect();
    },
  };
}

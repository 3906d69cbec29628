// Publishes live progress frames on the account's progress channel, which every api
// process relays to WebSocket subscribers. Best effort by design: a frame lost to a Redis
// hiccup costs a live view a line, while the persisted result keeps everything.
import type { Redis } from 'ioredis';
import type { ProgressFrame } from '../../shared/execution/protocol.ts';
import type { Logger } from '../../shared/logger.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import type { SandboxEvent } from '../sandbox/sandbox-result.ts';

export class ProgressPublisher {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
  ) {}

  publish(accountId: number, frame: ProgressFrame): void {
    // One connection keeps PUBLISH order, so frames of one execution arrive in order.
    this.redis.publish(this.keys.progressChannel(accountId), JSON.stringify(frame)).catch((err: unknown) => {
      this.log.debug({ err, executionId: frame.executionId }, 'progress frame not published');
    });
  }
}

/** The live frame for a sandbox event; violations show as their refused host call or in the result. */
export function progressFrameFor(event: SandboxEvent, executionId: number, agentId: number): ProgressFrame | null {
  if (event.type === 'log') {
    return { type: 'log', executionId, agentId, level: event.line.level, message: event.line.message, time: event.line.time };
  }
  if (event.type === 'host_call') {
    const { fn, allowed, reason, duration_ms, timestamp } = event.entry;
    return { type: 'host_call', executionId, agentId, fn, allowed, reason, duration_ms, timestamp };
  }
  return null;
}

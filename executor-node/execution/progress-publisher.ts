// Publishes live progress frames on the account's progress channel, which every api
// process relays to WebSocket subscribers. Best effort by design: a frame lost to a Redis
// hiccup costs a live view a line, while the persisted result keeps everything.
import type { Redis } from 'ioredis';
import type { ProgressFrame } from '../../shared/execution/protocol.ts';
import type { Logger } from '../../shared/logger.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import { scripts } from '../../shared/redis/scripts/index.ts';
import type { SandboxEvent } from '../sandbox/sandbox-result.ts';

export class ProgressPublisher {
  private readonly script: ReturnType<typeof scripts>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
  ) {
    this.script = scripts(redis);
  }

  /**
   * The node's last check before a run, and its first frame: refuses the execution if its
   * account or agent is halted (the Redis mirrors of the halts), otherwise publishes its
   * `running` frame. One script, so one round trip before the run, on the connection
   * every other frame takes.
   */
  async publishRunningUnlessHalted(
    accountId: number,
    frame: Extract<ProgressFrame, { type: 'status' }>,
  ): Promise<'agent_halted' | 'account_halted' | null> {
    const refusal = await this.script(
      'start-unless-halted-2',
      [this.keys.agentHaltKey(frame.agentId), this.keys.accountHaltKey(accountId)],
      [this.keys.progressChannel(accountId), JSON.stringify(frame)],
    );
    return refusal === 'account_halted' || refusal === 'agent_halted' ? refusal : null;
  }

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

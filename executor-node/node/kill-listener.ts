// Receives kill signals (broadcast to every node on the kill channel) and stops the
// matching runs at once: the sandbox interrupts the guest at its next check. Signals sent
// while the subscription was down are lost with pub/sub, so on every (re)subscription the
// node re-reads the halt keys of what it runs and stops the halted ones.
import type { Redis } from 'ioredis';
import { killSignalSchema } from '../../shared/execution/protocol.ts';
import type { Logger } from '../../shared/logger.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import type { SandboxPool } from '../sandbox/sandbox-pool.ts';
import type { RunningExecution, RunningExecutions } from '../execution/running-executions.ts';

export interface KillListenerDeps {
  /** A connection of its own: a subscribed connection can do nothing else. */
  readonly subscriber: Redis;
  /** For re-reading halt keys. */
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly running: RunningExecutions;
  readonly pool: Pick<SandboxPool, 'terminate'>;
  readonly log: Logger;
}

export class KillListener {
  constructor(private readonly deps: KillListenerDeps) {}

  async start(): Promise<void> {
    const { subscriber, keys } = this.deps;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === keys.killChannel) this.onMessage(message);
    });
    // ioredis re-subscribes by itself after a reconnect; 'ready' follows each one.
    subscriber.on('ready', () => void this.recheckHalts());
    await subscriber.subscribe(keys.killChannel);
  }

  private onMessage(message: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(message);
    } catch {
      raw = undefined;
    }
    const parsed = killSignalSchema.safeParse(raw);
    if (!parsed.success) {
      this.deps.log.warn({ issue: parsed.error.issues[0]?.message }, 'malformed kill signal ignored');
      return;
    }
    const signal = parsed.data;
    for (const execution of this.deps.running.matching(signal)) this.stop(execution, signal.reason);
  }

  private stop(execution: RunningExecution, reason: string): void {
    // Kept on the entry too: a run not started yet is stopped the moment it starts.
    execution.stopReason ??= reason;
    const found = this.deps.pool.terminate(execution.executionId, execution.stopReason);
    this.deps.log.info(
      { executionId: execution.executionId, agentId: execution.agentId, accountId: execution.accountId, running: found },
      'execution killed',
    );
  }

  private async recheckHalts(): Promise<void> {
    const executions = this.deps.running.all();
    if (executions.length === 0) return;
    const { redis, keys } = this.deps;
    try {
      const values = await redis.mget(
        ...executions.flatMap((e) => [keys.agentHaltKey(e.agentId), keys.accountHaltKey(e.accountId)]),
      );
      executions.forEach((execution, i) => {
        const reason = values[2 * i + 1] ?? values[2 * i];
        if (reason !== null && reason !== undefined) this.stop(execution, reason || 'halted');
      });
    } catch (err) {
      this.deps.log.warn({ err }, 'could not re-check halts after resubscribing');
    }
  }
}

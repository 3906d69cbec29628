// The kill switch: halts an agent or a whole account. The database holds the halt (the
// scheduler refuses queued executions from it); Redis mirrors it for executor nodes (which
// check it before running a job) and carries the kill signal that terminates running
// executions at once. Reasons go to the audit trail with the change, in one transaction.
import type { ChainableCommander, Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { auditEvent } from '../audit/audit-event.ts';
import { writeAuditOutbox } from '../audit/audit-sink.ts';
import type { AgentRow } from '../db/entities/agent.ts';
import { AgentEntity } from '../db/entities/agent.ts';
import type { RedisKeys } from '../redis/keys.ts';
import type { KillSignal } from './protocol.ts';

export const DEFAULT_KILL_REASON = 'no reason given';

export class KillSwitch {
  constructor(
    private readonly db: DataSource,
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * Halts the agent and terminates its running executions; null if it is not the account's.
   * `ownershipChecked`: the caller has already confirmed the agent is the account's (the
   * api's agent cache), so the kill signal goes out at once, while the halt is written,
   * rather than after: termination does not wait for the database.
   */
  async haltAgent(accountId: number, agentId: number, reason: string, actor: string, options: { ownershipChecked?: boolean } = {}): Promise<AgentRow | null> {
    const signal = () => this.mirrorAndSignal(this.redis.pipeline(), this.keys.agentHaltKey(agentId), reason, { scope: 'agent', agentId, reason }).exec();
    if (options.ownershipChecked) {
      const [row] = await Promise.all([this.writeAgentHalt(accountId, agentId, reason, actor), signal()]);
      return row;
    }
    const row = await this.writeAgentHalt(accountId, agentId, reason, actor);
    if (row) await signal();
    return row;
  }

  private async writeAgentHalt(accountId: number, agentId: number, reason: string, actor: string): Promise<AgentRow | null> {
    return this.db.transaction(async (tx) => {
      const repo = tx.getRepository(AgentEntity);
      const agent = await repo.createQueryBuilder('a').setLock('pessimistic_write').where('a.id = :agentId AND a.account_id = :accountId', { agentId, accountId }).getOne();
      if (!agent) return null;
      await repo.update({ id: agentId }, { status: 'halted', halt_reason: reason, updated_at: new Date() });
      await writeAuditOutbox(tx, [
        auditEvent({ accountId, agentId, actor, actionType: 'kill', description: `agent ${agent.name} halted: ${reason}`, permissionState: { status: 'halted' } }),
      ]);
      return repo.findOneByOrFail({ id: agentId });
    });
  }

  /** Halts (or resumes) every agent of the account. */
  async setAccountHalted(accountId: number, halted: boolean, reason: string, actor: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(`UPDATE accounts SET halted = $2, halt_reason = $3 WHERE id = $1`, [accountId, halted, halted ? reason : null]);
      await writeAuditOutbox(tx, [
        auditEvent({ accountId, actor, actionType: halted ? 'halt' : 'resume', description: `account ${halted ? 'halted' : 'resumed'}: ${reason}` }),
      ]);
    });
    const pipeline = this.redis.pipeline();
    if (halted) this.mirrorAndSignal(pipeline, this.keys.accountHaltKey(accountId), reason, { scope: 'account', accountId, reason });
    else pipeline.del(this.keys.accountHaltKey(accountId));
    // api processes cache the mirror (api/agents/account-halt-cache.ts): tell them either way.
    await pipeline.publish(this.keys.accountHaltChangedChannel, String(accountId)).exec();
  }

  /** Adds the Redis mirror of a halt and its kill signal to `pipeline`. */
  private mirrorAndSignal(pipeline: ChainableCommander, key: string, reason: string, signal: KillSignal): ChainableCommander {
    return pipeline.set(key, reason).publish(this.keys.killChannel, JSON.stringify(signal));
  }
}

// Audit events for agent registry changes, written in the same transaction as the change.
import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { auditEvent, type AuditActionType } from '../../shared/audit/audit-event.ts';
import { writeAuditOutbox } from '../../shared/audit/audit-sink.ts';
import { summarize } from '../../shared/audit/summarize.ts';
import type { AgentRow } from '../../shared/db/entities/agent.ts';
import type { AgentWriteHook } from '../../shared/db/stores/agent-store.ts';

const ACTION: Record<'created' | 'updated' | 'deleted', AuditActionType> = {
  created: 'agent_created',
  updated: 'agent_updated',
  deleted: 'agent_deleted',
};

const TRACKED: (keyof AgentRow)[] = ['name', 'version', 'description', 'entry_code', 'config', 'permissions', 'swarm', 'status'];

/** The code is summarised by length and digest: enough to prove which code was in force. */
function codeFingerprint(code: string): string {
  return `sha256:${createHash('sha256').update(code).digest('hex')} (${code.length} chars)`;
}

function changedFields(before: AgentRow | null, after: AgentRow): string[] {
  if (!before) return TRACKED.map(String);
  return TRACKED.filter((f) => JSON.stringify(before[f]) !== JSON.stringify(after[f])).map(String);
}

export function agentAuditHook(actor: string): AgentWriteHook {
  return async (tx: EntityManager, row, change, before) => {
    const fields = change === 'deleted' ? [] : changedFields(change === 'created' ? null : before, row);
    if (before?.status === 'halted' && row.status !== 'halted' && change === 'updated') {
      await writeAuditOutbox(tx, [
        auditEvent({ accountId: row.account_id, agentId: row.id, actor, actionType: 'resume', description: `agent ${row.name} resumed (status ${row.status})` }),
      ]);
    }
    await writeAuditOutbox(tx, [
      auditEvent({
        accountId: row.account_id,
        agentId: row.id,
        actor,
        actionType: ACTION[change],
        description: `agent ${row.name} ${change}${fields.length > 0 && change === 'updated' ? `: ${fields.join(', ')}` : ''}`,
        inputSummary:
          change === 'deleted'
            ? null
            : summarize({
                changed: fields,
                version: row.version,
                status: row.status,
                swarm: row.swarm,
                entry_code: codeFingerprint(row.entry_code),
              }),
        permissionState: {
          scopes: row.permissions,
          preset: row.permissions_preset,
          config: { ...row.config },
          status: row.status,
        },
      }),
    ]);
  };
}

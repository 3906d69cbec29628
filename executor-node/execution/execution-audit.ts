// Turns one execution's live sandbox events into audit events: an allowed host call is an
// `api_call`; a call policy refused is a violation typed by its reason; a limit hit with
// no refused call behind it (CPU, memory, logs, output...) is a violation of its own kind.
// Plain data in, plain data out: the buffer that ships them is elsewhere.
import { auditEvent, type AuditActionType, type AuditEvent } from '../../shared/audit/audit-event.ts';
import { summarize } from '../../shared/audit/summarize.ts';
import type { HostCallAuditEntry, SandboxEvent, SandboxViolation } from '../sandbox/sandbox-result.ts';

export interface ExecutionAuditContext {
  readonly accountId: number;
  readonly agentId: number;
  readonly executionId: number;
  /** `node:<nodeId>`. */
  readonly actor: string;
  /** The scopes and config the run was granted, recorded with every event. */
  readonly permissionState: Record<string, unknown>;
}

/** Denial reasons that are not permission refusals (docs/sandbox.md, host_call_audit). */
const DENIAL_ACTION: Readonly<Record<string, AuditActionType>> = {
  budget_exhausted: 'sandbox_limit_hit',
  rate_limited: 'rate_limit_hit',
};

export class ExecutionAudit {
  /**
   * Refused calls whose violation has not come yet, per host function. Every refusal is
   * followed by exactly one violation naming the same function; the refusal already is the
   * audit event (it carries the arguments), so that violation must not be recorded twice.
   */
  private readonly refusedAwaitingViolation = new Map<string, number>();

  constructor(private readonly context: ExecutionAuditContext) {}

  /** The audit event a sandbox event stands for, or null (log lines are not audited one by one). */
  eventFor(event: SandboxEvent): AuditEvent | null {
    if (event.type === 'host_call') return event.entry.allowed ? this.allowedCall(event.entry) : this.refusedCall(event.entry);
    if (event.type === 'violation') return this.violation(event.violation);
    return null;
  }

  private allowedCall(entry: HostCallAuditEntry): AuditEvent {
    return this.build(entry.timestamp, {
      actionType: 'api_call',
      description: entry.error ? `${entry.fn} called; it failed: ${entry.error}` : `${entry.fn} called`,
      inputSummary: summarize({ fn: entry.fn, args: entry.args }),
      outputSummary: summarize({ error: entry.error, duration_ms: entry.duration_ms }),
      isViolation: false,
    });
  }

  private refusedCall(entry: HostCallAuditEntry): AuditEvent {
    this.refusedAwaitingViolation.set(entry.fn, (this.refusedAwaitingViolation.get(entry.fn) ?? 0) + 1);
    const reason = entry.reason ?? 'denied';
    return this.build(entry.timestamp, {
      actionType: DENIAL_ACTION[reason] ?? 'permission_denied',
      description: `${entry.fn} refused: ${reason}`,
      inputSummary: summarize({ fn: entry.fn, args: entry.args }),
      outputSummary: summarize({ allowed: false, reason }),
      isViolation: true,
    });
  }

  private violation(violation: SandboxViolation): AuditEvent | null {
    const pending = violation.fn === null ? 0 : (this.refusedAwaitingViolation.get(violation.fn) ?? 0);
    if (pending > 0) {
      this.refusedAwaitingViolation.set(violation.fn!, pending - 1);
      return null;
    }
    return this.build(violation.timestamp, {
      actionType: violation.kind,
      description: `${violation.code}: ${violation.message}`,
      inputSummary: summarize({ fn: violation.fn, code: violation.code }),
      outputSummary: null,
      isViolation: true,
    });
  }

  private build(
    timestamp: string,
    fields: { actionType: AuditActionType; description: string; inputSummary: string | null; outputSummary: string | null; isViolation: boolean },
  ): AuditEvent {
    const at = new Date(timestamp);
    return auditEvent(
      {
        accountId: this.context.accountId,
        agentId: this.context.agentId,
        executionId: this.context.executionId,
        actor: this.context.actor,
        permissionState: this.context.permissionState,
        ...fields,
      },
      // The sandbox's own timestamp is when it happened; fall back to now for a malformed one.
      Number.isNaN(at.getTime()) ? new Date() : at,
    );
  }
}

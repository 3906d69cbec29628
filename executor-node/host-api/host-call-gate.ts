// The path every audited host call takes: counted, checked against the agent's grant,
// charged to the API-call budget and the per-minute window, then recorded exactly once
// with its outcome. `allowed: false` always means policy refused the call, and always
// comes with a violation; a call that was allowed but failed records its error instead.
import { checkHostCall, type HostCall, type HostCallGrant } from '../../shared/permissions/check-host-call.ts';
import { GuestVisibleError } from '../sandbox/host-function.ts';
import { limitExceeded, RunStopError } from '../sandbox/run-stop.ts';
import type { JsonValue } from '../sandbox/sandbox-result.ts';
import type { RateWindow } from './rate-window.ts';
import type { RunLedger } from './run-ledger.ts';

export interface GateDeps {
  readonly grant: HostCallGrant;
  readonly ledger: RunLedger;
  readonly rateWindow: RateWindow;
  /** Epoch ms, for the rate window and timestamps. */
  readonly now: () => number;
}

export class HostCallGate {
  constructor(private readonly deps: GateDeps) {}

  /** Counts the call against max_host_calls and starts its audit record. */
  begin(fn: string, args: Record<string, JsonValue>): AuditedCall {
    this.deps.ledger.countHostCall(fn);
    return new AuditedCall(this.deps, fn, args);
  }
}

export class AuditedCall {
  private readonly startedAt: number;
  private readonly startedPerf = performance.now();
  private recorded = false;

  constructor(
    private readonly deps: GateDeps,
    readonly fn: string,
    private args: Record<string, JsonValue>,
  ) {
    this.startedAt = deps.now();
  }

  /** Replaces the argument summary once the arguments are parsed. */
  describe(args: Record<string, JsonValue>): void {
    this.args = args;
  }

  /** Asks the policy; a refusal is recorded and thrown (budget exhaustion ends the run). */
  check(call: HostCall): void {
    const decision = checkHostCall(this.deps.grant, call, this.deps.ledger.apiCalls);
    if (decision.allowed) return;
    if (decision.code === 'budget_exhausted') {
      this.record(false, decision.code, null);
      throw new RunStopError(limitExceeded('api_call_budget_exhausted', decision.message, this.fn));
    }
    throw this.deny(decision.code, decision.message);
  }

  /** Charges one API call: the per-minute window first, then the run's budget. */
  takeApiCall(): void {
    if (!this.deps.rateWindow.tryTake(this.deps.now())) {
      this.record(false, 'rate_limited', null);
      throw new RunStopError({
        status: 'rate_limited',
        code: 'rate_limit_exceeded',
        message: `more than ${this.deps.rateWindow.limit} API calls within a minute`,
        fn: this.fn,
      });
    }
    this.deps.ledger.apiCalls += 1;
  }

  /** Policy refused the call: recorded as denied and counted as a violation; returns the error for the guest. */
  deny(code: string, message: string): GuestVisibleError {
    this.record(false, code, null);
    this.deps.ledger.recordViolation('permission_denied', code, message, this.fn);
    return new GuestVisibleError(code, message);
  }

  /** The call was allowed but did not succeed; returns the error for the guest. */
  fail(code: string, message: string): GuestVisibleError {
    this.record(true, null, code);
    return new GuestVisibleError(code, message);
  }

  succeed(): void {
    this.record(true, null, null);
  }

  private record(allowed: boolean, reason: string | null, error: string | null): void {
    if (this.recorded) return;
    this.recorded = true;
    this.deps.ledger.recordCall({
      fn: this.fn,
      args: this.args,
      timestamp: new Date(this.startedAt).toISOString(),
      allowed,
      reason,
      error,
      duration_ms: Math.round((performance.now() - this.startedPerf) * 1000) / 1000,
    });
  }
}

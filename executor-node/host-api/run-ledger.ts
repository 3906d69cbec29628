// Everything a run leaves behind besides its output: host-call audit entries, log lines,
// violations and the counters behind resource_usage. Host functions write here; the
// thread turns it into the result, and each entry is also offered to a live sink.
import { limitExceeded, RunStopError } from '../sandbox/run-stop.ts';
import type {
  HostCallAuditEntry,
  LogLevel,
  LogLine,
  SandboxEvent,
  SandboxViolation,
  ViolationKind,
} from '../sandbox/sandbox-result.ts';

export interface LedgerLimits {
  readonly maxHostCalls: number;
  readonly maxLogLines: number;
  readonly maxLogBytes: number;
}

export type LedgerSink = (event: SandboxEvent) => void;

export type AuditDraft = Omit<HostCallAuditEntry, 'seq'>;

export class RunLedger {
  readonly audit: HostCallAuditEntry[] = [];
  readonly logs: LogLine[] = [];
  readonly violations: SandboxViolation[] = [];
  apiCalls = 0;
  hostCalls = 0;
  /** The last write_result, as JSON text. */
  outputJson: string | null = null;
  /** The interleaving of logs (l), audited calls (h) and violations (v), for replaying them in order. */
  readonly order: string[] = [];
  private logBytes = 0;

  constructor(
    private readonly limits: LedgerLimits,
    private readonly now: () => number = Date.now,
    private readonly sink: LedgerSink | null = null,
  ) {}

  timestamp(): string {
    return new Date(this.now()).toISOString();
  }

  /** Counts one thetazero.* call; the call past max_host_calls ends the run. */
  countHostCall(fn: string): void {
    this.hostCalls += 1;
    if (this.hostCalls > this.limits.maxHostCalls) {
      throw new RunStopError(
        limitExceeded('host_call_limit_exceeded', `more than ${this.limits.maxHostCalls} host calls in one run`, fn),
      );
    }
  }

  /** Appends a log line; the line past the line or byte limit ends the run. */
  addLog(level: LogLevel, message: string): void {
    if (this.logs.length >= this.limits.maxLogLines) {
      throw new RunStopError(limitExceeded('log_limit_exceeded', `more than ${this.limits.maxLogLines} log lines`, 'log'));
    }
    this.logBytes += Buffer.byteLength(message, 'utf8');
    if (this.logBytes > this.limits.maxLogBytes) {
      throw new RunStopError(limitExceeded('log_limit_exceeded', `logs exceed ${this.limits.maxLogBytes} bytes`, 'log'));
    }
    const line: LogLine = { level, message, time: this.timestamp() };
    this.logs.push(line);
    this.order.push('l');
    this.sink?.({ type: 'log', line });
  }

  recordCall(draft: AuditDraft): HostCallAuditEntry {
    const entry: HostCallAuditEntry = { seq: this.audit.length + 1, ...draft };
    this.audit.push(entry);
    this.order.push('h');
    this.sink?.({ type: 'host_call', entry });
    return entry;
  }

  recordViolation(kind: ViolationKind, code: string, message: string, fn: string | null): void {
    const violation: SandboxViolation = { kind, code, message, timestamp: this.timestamp(), fn };
    this.violations.push(violation);
    this.order.push('v');
    this.sink?.({ type: 'violation', violation });
  }
}

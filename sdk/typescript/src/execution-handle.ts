// An execution started with submit(): waits for its end by polling, and delivers its live
// events over the WebSocket where the runtime has one, else over the SSE audit stream.
import type { HttpTransport } from './http-transport.js';
import { SDKError } from './sdk-error.js';
import { openEventStream, type StreamHandle } from './sse-stream.js';
import type { ExecutionResult, ProgressEvent, ProgressListener, WireExecution } from './types.js';

const FINAL = new Set(['completed', 'failed', 'timed_out', 'terminated', 'limit_exceeded', 'rate_limited', 'halted', 'node_lost']);
/** Audit records of an execution can be committed shortly after its status is final. */
const CLOSE_GRACE_MS = 5_000;

export function isFinalStatus(status: string): boolean {
  return FINAL.has(status);
}

export function toExecutionResult(wire: WireExecution, baseUrl: string): ExecutionResult {
  return {
    executionId: wire.execution_id,
    agentId: wire.agent_id,
    status: wire.status,
    output: wire.output ?? null,
    error: wire.error ?? null,
    durationMs: wire.duration_ms ?? null,
    auditTrailUrl: new URL(wire.audit_trail_url, baseUrl + '/').toString(),
    resourceUsage: wire.resource_usage ?? {},
    hostCallAudit: wire.host_call_audit ?? [],
    logs: wire.logs ?? [],
    violationCount: wire.violation_count ?? 0,
    wasTerminated: wire.was_terminated ?? false,
    nodeId: wire.node_id ?? null,
    queuedAt: wire.queued_at ?? null,
    startedAt: wire.started_at ?? null,
    finishedAt: wire.finished_at ?? null,
  };
}

/** Polls an execution until its status is final. */
export async function pollUntilFinal(transport: HttpTransport, agentId: number, executionId: number, timeoutMs: number): Promise<ExecutionResult> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(1_000, delay * 1.5)) {
    const { body } = await transport.json<WireExecution>({ path: `/api/v1/sdk/agents/${agentId}/executions/${executionId}` });
    if (isFinalStatus(body.status)) return toExecutionResult(body, transport.baseUrl);
    if (Date.now() + delay > deadline) throw new SDKError('TIMEOUT', 0, `execution ${executionId} still ${body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

interface MinimalWebSocket {
  readyState: number;
  send(data: string): void;
  close(code?: number): void;
  addEventListener(type: string, listener: (event: { data?: unknown }) => void): void;
}
type WebSocketConstructor = new (url: string) => MinimalWebSocket;

export class ExecutionHandle {
  private readonly closers = new Set<() => void>();
  private finished: Promise<ExecutionResult> | undefined;

  constructor(
    private readonly transport: HttpTransport,
    readonly agentId: number,
    readonly executionId: number,
    /** When the execution was accepted: the SSE replay starts a little before it. */
    private readonly acceptedAt: Date,
  ) {}

  /** Resolves with the final result; rejects with SDKError TIMEOUT after timeoutMs (default 10 minutes). */
  wait(opts: { timeoutMs?: number } = {}): Promise<ExecutionResult> {
    this.finished ??= pollUntilFinal(this.transport, this.agentId, this.executionId, opts.timeoutMs ?? 600_000).then(
      (result) => {
        setTimeout(() => this.close(), CLOSE_GRACE_MS).unref?.();
        return result;
      },
      (err: unknown) => {
        this.finished = undefined;
        throw err;
      },
    );
    return this.finished;
  }

  /**
   * Calls listener with this execution's live events until the execution ends (plus a short
   * grace for late audit records) or the returned function is called.
   */
  onProgress(listener: ProgressListener, opts: { transport?: 'auto' | 'sse' | 'websocket'; onError?: (err: SDKError) => void } = {}): () => void {
    const WS = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    const useWs = opts.transport === 'websocket' || (opts.transport !== 'sse' && typeof WS === 'function');
    const close = useWs ? this.viaWebSocket(WS, listener, opts.onError) : this.viaSse(listener, opts.onError);
    this.closers.add(close);
    return () => {
      this.closers.delete(close);
      close();
    };
  }

  /** Ends every progress subscription of this handle. */
  close(): void {
    for (const close of this.closers) close();
    this.closers.clear();
  }

  private viaSse(listener: ProgressListener, onError?: (err: SDKError) => void): () => void {
    const stream: StreamHandle = openEventStream(this.transport, {
      path: '/api/v1/sdk/audit/stream',
      query: { executionId: this.executionId, since: new Date(this.acceptedAt.getTime() - 60_000).toISOString() },
      onEvent: (event) => {
        if (event.type !== 'audit' || typeof event.data !== 'object' || event.data === null) return;
        listener({ type: 'audit', executionId: this.executionId, transport: 'sse', data: event.data as Record<string, unknown> });
      },
      onError,
    });
    return () => stream.close();
  }

  private viaWebSocket(WS: WebSocketConstructor | undefined, listener: ProgressListener, onError?: (err: SDKError) => void): () => void {
    if (!WS) throw new SDKError('UNSUPPORTED', 0, 'this runtime has no global WebSocket; use the sse transport');
    const url = this.transport.url('/api/v1/sdk/ws').replace(/^http/, 'ws');
    const ws = new WS(url);
    let closed = false;
    ws.addEventListener('open', () => {
      // Browsers cannot set headers on an upgrade: authenticate with the first message.
      ws.send(JSON.stringify({ type: 'auth', apiKey: this.transport.apiKey }));
    });
    ws.addEventListener('message', (event) => {
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(String(event.data)) as Record<string, unknown>;
      } catch {
        return;
      }
      if (frame.type === 'authenticated') ws.send(JSON.stringify({ type: 'subscribe', executionId: this.executionId }));
      else if (frame.type === 'error') onError?.(new SDKError(String(frame.code), 0, String(frame.message)));
      else if (frame.type !== 'subscribed' && frame.type !== 'unsubscribed' && !closed) {
        listener({ type: String(frame.type), executionId: this.executionId, transport: 'websocket', data: frame });
      }
    });
    ws.addEventListener('error', () => onError?.(new SDKError('NETWORK_ERROR', 0, 'progress WebSocket failed')));
    return () => {
      closed = true;
      ws.close(1000);
    };
  }
}

export type { ProgressEvent };

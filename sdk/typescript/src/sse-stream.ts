// The live audit stream (Server-Sent Events), parsed here rather than by a dependency:
// reconnects after a drop or the server's `timeout` event, resuming with Last-Event-ID
// so no record is missed or repeated.
import type { HttpTransport, QueryValue } from './http-transport.js';
import { backoffMs } from './http-transport.js';
import { SDKError } from './sdk-error.js';

export interface StreamEvent {
  /** `connected`, `audit`, `keepalive` or `timeout`. */
  readonly type: string;
  /** The SSE id: the audit record id for `audit` events. */
  readonly id: string | undefined;
  readonly data: unknown;
}

export interface StreamHandle {
  /** Resolves when the first connection is open (its `connected` event arrived). */
  readonly ready: Promise<void>;
  /** The id of the last event received; sent as Last-Event-ID on reconnect. */
  readonly lastEventId: string | undefined;
  close(): void;
}

export interface OpenStreamOptions {
  readonly path: string;
  readonly query: Readonly<Record<string, QueryValue>>;
  readonly lastEventId?: string;
  readonly onEvent: (event: StreamEvent) => void;
  /** A refusal (4xx) ends the stream; other failures are retried. */
  readonly onError?: (err: SDKError) => void;
}

/** Splits an SSE byte stream into events (the WHATWG event-stream format). */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private type = '';
  private id: string | undefined;

  constructor(private readonly emit: (event: { type: string; id: string | undefined; data: string }) => void) {}

  push(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, nl);
      const sep = this.buffer[nl] === '\r' && this.buffer[nl + 1] === '\n' ? 2 : 1;
      // A lone trailing \r may be the first half of \r\n: wait for the next chunk.
      if (this.buffer[nl] === '\r' && nl + 1 === this.buffer.length) break;
      this.buffer = this.buffer.slice(nl + sep);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.emit({ type: this.type || 'message', id: this.id, data: this.data.join('\n') });
      this.data = [];
      this.type = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.type = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

export function openEventStream(transport: HttpTransport, opts: OpenStreamOptions): StreamHandle {
  const controller = new AbortController();
  let lastEventId = opts.lastEventId;
  let closed = false;
  let resolveReady!: () => void;
  let rejectReady!: (err: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined);

  const connectOnce = async (): Promise<void> => {
    const res = await transport.send({
      path: opts.path,
      query: lastEventId === undefined ? opts.query : { ...opts.query, since: undefined },
      headers: { accept: 'text/event-stream', ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) },
      timeoutMs: 0,
      signal: controller.signal,
    });
    const body = res.body;
    if (!body) throw new SDKError('NETWORK_ERROR', 0, 'the audit stream answered without a body');
    const decoder = new TextDecoder();
    const parser = new SseParser((raw) => {
      if (raw.id !== undefined) lastEventId = raw.id;
      let data: unknown = raw.data;
      try {
        data = JSON.parse(raw.data);
      } catch {
        // keep the text
      }
      if (raw.type === 'connected') resolveReady();
      if (!closed) opts.onEvent({ type: raw.type, id: raw.id, data });
    });
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.push(decoder.decode(value, { stream: true }));
      }
    } finally {
      reader.releaseLock();
    }
  };

  void (async () => {
    for (let attempt = 0; !closed; ) {
      try {
        await connectOnce();
        attempt = 0; // a clean end (the server's max age): reconnect at once
      } catch (err) {
        if (closed) break;
        const e = err instanceof SDKError ? err : new SDKError('NETWORK_ERROR', 0, String(err));
        const retryable = e.status === 0 || e.status === 429 || e.status >= 500;
        if (!retryable) {
          closed = true;
          rejectReady(e);
          opts.onError?.(e);
          break;
        }
        await new Promise((r) => setTimeout(r, backoffMs(attempt++)));
      }
    }
  })();

  return {
    ready,
    get lastEventId() {
      return lastEventId;
    },
    close() {
      closed = true;
      controller.abort();
    },
  };
}

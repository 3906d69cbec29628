// HTTP calls to the ThetaZero API over the runtime's global fetch: JSON in and out,
// the server's error body mapped to SDKError, and retries with backoff only where a
// repeat cannot do anything twice (GET) and the server asked for it (429, 503) or
// the network failed.
import { SDKError } from './sdk-error.js';

export type QueryValue = string | number | boolean | undefined | null;

export interface RequestOptions {
  readonly method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, QueryValue>>;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Per-attempt timeout; 0 for none. */
  readonly timeoutMs?: number;
}

export interface TransportOptions {
  readonly apiKey: string;
  readonly baseUrl: string;
  readonly timeoutMs?: number;
  readonly maxRetries?: number;
}

const RETRY_STATUSES = new Set([429, 503]);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class HttpTransport {
  readonly apiKey: string;
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;

  constructor(opts: TransportOptions) {
    this.apiKey = opts.apiKey;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxRetries = opts.maxRetries ?? 3;
  }

  url(path: string, query?: Readonly<Record<string, QueryValue>>): string {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
    return url.toString();
  }

  /** The parsed JSON answer of a 2xx response, with its status. */
  async json<T>(opts: RequestOptions): Promise<{ status: number; body: T }> {
    const res = await this.send(opts);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }

  /** The body of a 2xx response as text (exports). */
  async text(opts: RequestOptions): Promise<string> {
    return (await this.send(opts)).text();
  }

  /** A 2xx response whose body the caller reads (streams). */
  async send(opts: RequestOptions & { signal?: AbortSignal }): Promise<Response> {
    const method = opts.method ?? 'GET';
    const idempotent = method === 'GET';
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchOnce(method, opts);
      } catch (err) {
        if (err instanceof SDKError && idempotent && attempt < this.maxRetries && err.code === 'NETWORK_ERROR') {
          await sleep(backoffMs(attempt));
          continue;
        }
        throw err;
      }
      if (res.ok) return res;
      if (idempotent && RETRY_STATUSES.has(res.status) && attempt < this.maxRetries) {
        await res.body?.cancel().catch(() => undefined);
        await sleep(retryAfterMs(res.headers.get('retry-after')) ?? backoffMs(attempt));
        continue;
      }
      throw await errorFromResponse(res);
    }
  }

  private async fetchOnce(method: string, opts: RequestOptions & { signal?: AbortSignal }): Promise<Response> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const timer = timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined;
    const signal = opts.signal && timer ? anySignal([opts.signal, timer]) : (opts.signal ?? timer);
    const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey}`, accept: 'application/json', ...opts.headers };
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    try {
      return await fetch(this.url(opts.path, opts.query), { method, headers, body, signal });
    } catch (err) {
      if (timer?.aborted) throw new SDKError('TIMEOUT', 0, `${method} ${opts.path}: no answer within ${timeoutMs} ms`);
      if (opts.signal?.aborted) throw new SDKError('ABORTED', 0, `${method} ${opts.path}: aborted`);
      const cause = err instanceof Error ? ((err as Error & { cause?: { message?: string } }).cause?.message ?? err.message) : String(err);
      throw new SDKError('NETWORK_ERROR', 0, `${method} ${opts.path}: ${cause}`);
    }
  }
}

function anySignal(signals: AbortSignal[]): AbortSignal {
  const controller = new AbortController();
  for (const s of signals) {
    if (s.aborted) controller.abort(s.reason);
    else s.addEventListener('abort', () => controller.abort(s.reason), { once: true });
  }
  return controller.signal;
}

export function backoffMs(attempt: number): number {
  const base = Math.min(5_000, 200 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.min(30_000, Math.max(0, seconds * 1000));
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.min(30_000, Math.max(0, at - Date.now()));
}

export async function errorFromResponse(res: Response): Promise<SDKError> {
  const text = await res.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (parsed.error && typeof parsed.error.code === 'string') {
      return new SDKError(parsed.error.code, res.status, String(parsed.error.message ?? parsed.error.code), parsed.error.details);
    }
  } catch {
    // not the API's error shape (a proxy page, say): fall through
  }
  return new SDKError(`http_${res.status}`, res.status, `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
}

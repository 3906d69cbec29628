// A minimal Ethereum JSON-RPC client over fetch. Every answer is parsed with a zod schema
// where it enters (the node is outside our trust boundary), and every failure is one of two
// errors: the chain could not be reached (retry later) or it answered with an error.
import { z } from 'zod';
import { maskRpcUrl } from './rpc-url.ts';

/** The node did not answer (connection refused, timeout, HTTP error, not JSON-RPC). */
export class ChainUnavailableError extends Error {
  override readonly name = 'ChainUnavailableError';
}

/** The node answered with a JSON-RPC error object. */
export class ChainRpcError extends Error {
  override readonly name = 'ChainRpcError';
  constructor(
    readonly method: string,
    readonly rpcCode: number,
    readonly rpcMessage: string,
  ) {
    super(`${method} failed: ${rpcMessage} (code ${rpcCode})`);
  }
}

const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

const success = z.object({ jsonrpc: z.literal('2.0'), id: z.number(), result: z.unknown() }).loose();
const failure = z
  .object({ jsonrpc: z.literal('2.0'), id: z.number().nullable(), error: z.object({ code: z.number(), message: z.string() }).loose() })
  .loose();

export class JsonRpcClient {
  /** The URL with credentials masked: the only form that may be logged or printed. */
  readonly displayUrl: string;
  private nextId = 1;
  private readonly url: string;
  private readonly headers: Record<string, string> = { 'content-type': 'application/json' };
  /** Every form of the secret parts of the URL, scrubbed from any message we pass on. */
  private readonly secrets: [secret: string, shownAs: string][] = [];

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    this.displayUrl = maskRpcUrl(url);
    this.secrets.push([url, this.displayUrl]);
    // fetch refuses URLs with user:password; send them as HTTP Basic authentication instead.
    let target = url;
    try {
      const parsed = new URL(url);
      if (parsed.username || parsed.password) {
        const credentials = [parsed.username, parsed.password];
        const user = decodeURIComponent(parsed.username);
        const password = decodeURIComponent(parsed.password);
        this.headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
        parsed.username = '';
        parsed.password = '';
        target = parsed.toString();
        this.secrets.push([target, this.displayUrl]);
        for (const part of [...credentials, user, password]) if (part.length >= 3) this.secrets.push([part, '***']);
      } else this.secrets.push([target, this.displayUrl]);
    } catch {
      // Not a URL: fetch fails and says so, scrubbed below.
    }
    this.url = target;
  }

  async call<S extends z.ZodType>(method: string, params: readonly unknown[], result: S): Promise<z.output<S>> {
    const id = this.nextId++;
    let text: string;
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: this.headers,
        body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
      text = await res.text();
      if (!res.ok && text.length === 0) throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      // fetch's messages can repeat the URL; say what failed without it.
      const cause = err as Error & { cause?: { code?: string } };
      const reason = cause.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (cause.cause?.code ?? this.scrub(cause.message));
      throw new ChainUnavailableError(`chain RPC ${this.displayUrl} unreachable (${method}): ${reason}`);
    }
    if (text.length > MAX_RESPONSE_BYTES) throw new ChainUnavailableError(`chain RPC answer to ${method} exceeds ${MAX_RESPONSE_BYTES} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ChainUnavailableError(`chain RPC ${this.displayUrl} answered ${method} with something that is not JSON`);
    }
    const failed = failure.safeParse(json);
    if (failed.success) throw new ChainRpcError(method, failed.data.error.code, this.scrub(failed.data.error.message));
    const parsed = success.safeParse(json);
    if (!parsed.success) throw new ChainUnavailableError(`chain RPC ${this.displayUrl} answered ${method} with something that is not JSON-RPC 2.0`);
    if (parsed.data.id !== id) throw new ChainUnavailableError(`chain RPC answered ${method} with the id of another request`);
    const value = result.safeParse(parsed.data.result);
    if (!value.success) {
      const issue = value.error.issues[0]!;
      throw new ChainUnavailableError(`chain RPC answer to ${method} is malformed at ${issue.path.join('.') || 'result'}: ${issue.message}`);
    }
    return value.data;
  }

  /** A message without the URL or its credentials (the URL's path may hold an API key). */
  private scrub(message: string): string {
    let out = message;
    for (const [secret, shownAs] of this.secrets) out = out.replaceAll(secret, shownAs);
    return out;
  }
}

// The only way sandboxed code reaches the network: HTTPS to public addresses, the
// resolved address pinned for the connection, every redirect re-checked from scratch,
// bounded in time and size. Headers and body arrive validated (see host-api/http-request.ts).
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressPolicy } from './address-policy.ts';
import { OutboundRequestError } from './outbound-request-error.ts';
import { parseOutboundUrl, type OutboundTarget } from './outbound-url.ts';
import { pinnedLookup, resolveChecked, systemResolver, type ResolvedAddress, type Resolver } from './pinned-resolver.ts';

export const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Credentials meant for one origin never follow a redirect to another. */
const ORIGIN_BOUND_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

export interface GuardedRequest {
  readonly url: string;
  readonly method: string;
  /** Lower-case names; validated by the caller (no CR/LF, no hop-by-hop headers). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | null;
}

export interface GuardedResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** The URL that answered, after redirects. */
  readonly url: string;
  readonly redirects: number;
  /** The address the final connection went to (pinned). */
  readonly address: string;
}

export interface GuardedClientOptions {
  readonly policy: AddressPolicy;
  /** The agent's domain allow-list, asked for the first URL and every redirect target. */
  readonly allowHost: (host: string) => boolean;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly maxRedirects?: number;
  readonly signal?: AbortSignal;
  readonly resolve?: Resolver;
  /** Replaces the trust store; for tests. Production trusts Node's store (NODE_EXTRA_CA_CERTS included). */
  readonly ca?: string | readonly string[];
}

/** Sends one request, following up to MAX_REDIRECTS redirects; throws OutboundRequestError. */
export async function guardedHttpsRequest(request: GuardedRequest, options: GuardedClientOptions): Promise<GuardedResponse> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const maxRedirects = options.maxRedirects ?? MAX_REDIRECTS;
  let current = { ...request, headers: { ...request.headers } };
  let previous: URL | undefined;
  for (let hop = 0; ; hop++) {
    const target = checkTarget(current.url, previous, options);
    const pinned = await untilAborted(pin(target, options), signal, timeout);
    const response = await send(target, pinned, current, options, signal, timeout);
    const location = response.headers.location;
    if (!REDIRECT_STATUSES.has(response.status) || location === undefined) {
      return { ...response, url: target.url.href, redirects: hop, address: pinned.address };
    }
    if (hop >= maxRedirects) {
      throw new OutboundRequestError('too_many_redirects', `more than ${maxRedirects} redirects`);
    }
    const next = new URL(location, target.url);
    const method = redirectMethod(response.status, current.method);
    const headers = { ...current.headers };
    if (next.origin !== target.url.origin) for (const name of ORIGIN_BOUND_HEADERS) delete headers[name];
    if (method !== current.method) {
      delete headers['content-type'];
    }
    current = { url: next.href, method, headers, body: method === current.method ? current.body : null };
    previous = target.url;
  }
}

function checkTarget(raw: string, base: URL | undefined, options: GuardedClientOptions): OutboundTarget {
  const parsed = parseOutboundUrl(raw, base);
  if (!parsed.ok) throw new OutboundRequestError(parsed.code, parsed.message);
  if (!options.allowHost(parsed.target.host)) {
    throw new OutboundRequestError('domain_not_allowed', `${parsed.target.host} is not in the agent's allowed_domains`);
  }
  return parsed.target;
}

async function pin(target: OutboundTarget, options: GuardedClientOptions): Promise<ResolvedAddress> {
  if (target.literalAddress !== null) {
    const verdict = options.policy.check(target.literalAddress);
    if (!verdict.allowed) {
      throw new OutboundRequestError(
        'address_not_allowed',
        `${target.literalAddress} (${verdict.range}) is not an address the sandbox may reach`,
      );
    }
    return { address: target.literalAddress, family: target.literalAddress.includes(':') ? 6 : 4 };
  }
  return resolveChecked(target.host, options.policy, options.resolve ?? systemResolver);
}

/** 303, and 301/302 after anything but GET/HEAD, become GET without a body (as browsers do). */
function redirectMethod(status: number, method: string): string {
  if (status === 303 && method !== 'HEAD') return 'GET';
  if ((status === 301 || status === 302) && method !== 'GET' && method !== 'HEAD') return 'GET';
  return method;
}

function send(
  target: OutboundTarget,
  pinned: ResolvedAddress,
  request: GuardedRequest,
  options: GuardedClientOptions,
  signal: AbortSignal,
  timeout: AbortSignal,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    // Set before the socket is torn down on purpose, so the resulting socket error
    // does not overwrite the real reason.
    let failure: OutboundRequestError | null = null;
    const fail = (err: unknown) => reject(failure ?? toOutboundError(err, signal, timeout));
    const headers: Record<string, string> = { ...request.headers, 'accept-encoding': 'identity' };
    if (request.body !== null) headers['content-length'] = String(request.body.length);
    const req = https.request({
      // A literal connects to itself; a name connects through the pinned lookup only.
      host: target.literalAddress ?? target.host,
      port: target.port,
      path: `${target.url.pathname}${target.url.search}`,
      method: request.method,
      headers,
      lookup: pinnedLookup(pinned),
      servername: target.literalAddress === null ? target.host : undefined,
      agent: false,
      minVersion: 'TLSv1.2',
      ...(options.ca ? { ca: options.ca as string | string[] } : {}),
      signal,
    });
    req.once('error', fail);
    req.once('response', (res) => {
      const declared = Number(res.headers['content-length']);
      const chunks: Buffer[] = [];
      let total = 0;
      const tooBig = () => {
        failure = tooLarge(options.maxResponseBytes);
        res.destroy();
        req.destroy();
        reject(failure);
      };
      if (Number.isFinite(declared) && declared > options.maxResponseBytes) return tooBig();
      res.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > options.maxResponseBytes) return tooBig();
        chunks.push(chunk);
      });
      res.once('end', () => {
        if (failure) return;
        resolve({ status: res.statusCode ?? 0, headers: flattenHeaders(res.headers), body: Buffer.concat(chunks, total) });
      });
      res.once('error', fail);
      res.once('aborted', () => fail(new OutboundRequestError('network_error', 'connection closed mid-response')));
    });
    req.end(request.body ?? undefined);
  });
}

function tooLarge(maxBytes: number): OutboundRequestError {
  return new OutboundRequestError('response_too_large', `response body exceeds ${maxBytes} bytes`);
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === '__proto__') continue;
    flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** DNS has no cancellation; stop waiting for it when the request's time is up. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal, timeout: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(toOutboundError(signal.reason, signal, timeout));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(toOutboundError(signal.reason, signal, timeout));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function toOutboundError(err: unknown, signal: AbortSignal, timeout: AbortSignal): OutboundRequestError {
  if (err instanceof OutboundRequestError) return err;
  if (timeout.aborted) return new OutboundRequestError('timeout', 'request timed out');
  if (signal.aborted) return new OutboundRequestError('aborted', 'request cancelled because the run ended');
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /CERT|SSL|TLS|UNABLE_TO_VERIFY|SIGNATURE/.test(code)) {
    return new OutboundRequestError('tls_error', `TLS handshake failed (${code})`);
  }
  return new OutboundRequestError('network_error', typeof code === 'string' ? `network error (${code})` : 'network error');
}

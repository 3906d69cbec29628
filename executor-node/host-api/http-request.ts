// thetazero.http_request(url, method?, headers?, body?) -> { status, headers, body }.
// Admission (scope, allow_network, arguments, allowed_domains, budgets) happens in the
// guest's turn; the request itself goes through the SSRF-guarded client, which checks
// the resolved address, pins it, and re-checks every redirect.
import type { GuardedRequest, GuardedResponse } from '../../shared/net/guarded-https-client.ts';
import { OutboundRequestError } from '../../shared/net/outbound-request-error.ts';
import { parseOutboundUrl } from '../../shared/net/outbound-url.ts';
import type { GuestArg, HostFunctionSpec } from '../sandbox/host-function.ts';
import { parseUntrustedJson } from '../sandbox/untrusted-json.ts';
import { redactHeaders, redactUrl, summarizeHttpRequest } from './argument-summary.ts';
import type { HostCallGate } from './host-call-gate.ts';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** CR and LF split a header into two (request smuggling); NUL truncates it in some parsers. */
const FORBIDDEN_HEADER_CHARS = /[\r\n\0]/;
/** Headers that decide framing, routing or connection reuse belong to the client, not the agent. */
const RESERVED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'expect',
  'accept-encoding',
  'proxy-authorization',
  'proxy-connection',
]);
const MAX_HEADERS = 64;
const MAX_HEADER_VALUE_CHARS = 8192;
const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Sends a checked request; in production the guarded client bound to the operator's policy. */
export type HttpClient = (
  request: GuardedRequest,
  allowHost: (host: string) => boolean,
  signal: AbortSignal,
) => Promise<GuardedResponse>;

export interface HttpRequestDeps {
  readonly gate: HostCallGate;
  readonly client: HttpClient;
  readonly allowHost: (host: string) => boolean;
  readonly maxRequestBytes: number;
  readonly maxResponseBytes: number;
}

type Parsed = { ok: true; request: GuardedRequest } | { ok: false; refused: boolean; code: string; message: string };

export function httpRequestFunction(deps: HttpRequestDeps): HostFunctionSpec {
  return {
    name: 'http_request',
    mode: 'async',
    // Headers and body are capped separately below; this only bounds what is copied out.
    maxArgBytes: deps.maxRequestBytes + 64 * 1024,
    invoke(args, signal) {
      const call = deps.gate.begin('http_request', summarizeHttpRequest(args));
      call.check({ fn: 'http_request', host: null });
      const parsed = parseArgs(args, deps.maxRequestBytes);
      if (!parsed.ok) {
        if (parsed.refused) throw call.deny(parsed.code, parsed.message);
        throw call.fail(parsed.code, parsed.message);
      }
      const request = parsed.request;
      call.describe({
        url: redactUrl(request.url),
        method: request.method,
        headers: redactHeaders(request.headers),
        ...(request.body ? { body_bytes: request.body.length } : {}),
      });
      const target = parseOutboundUrl(request.url);
      if (!target.ok) {
        if (target.code === 'invalid_url') throw call.fail(target.code, target.message);
        throw call.deny(target.code, target.message);
      }
      call.check({ fn: 'http_request', host: target.target.host });
      call.takeApiCall();
      return deps.client(request, deps.allowHost, signal).then(
        (response) => {
          call.succeed();
          return JSON.stringify(toGuestResponse(response));
        },
        (err: unknown) => {
          if (err instanceof OutboundRequestError) {
            if (err.refused) throw call.deny(err.code, err.message);
            throw call.fail(err.code, err.message);
          }
          throw call.fail('network_error', 'the request failed');
        },
      );
    },
  };
}

function parseArgs(args: readonly GuestArg[], maxRequestBytes: number): Parsed {
  const [urlArg, methodArg, headersArg, bodyArg] = args;
  if (urlArg?.kind !== 'string') return invalid('url must be a string');
  let method = 'GET';
  if (methodArg && methodArg.kind !== 'undefined') {
    if (methodArg.kind !== 'string') return invalid('method must be a string');
    method = methodArg.value.toUpperCase();
    if (!(HTTP_METHODS as readonly string[]).includes(method)) return invalid(`method must be one of ${HTTP_METHODS.join(', ')}`);
  }
  const headers = parseHeaders(headersArg);
  if (!headers.ok) return headers;
  let body: Buffer | null = null;
  if (bodyArg && bodyArg.kind !== 'undefined' && !(bodyArg.kind === 'json' && bodyArg.json === 'null')) {
    if (bodyArg.kind === 'too_large') return tooLarge(maxRequestBytes);
    if (bodyArg.kind === 'not_json') return invalid('body must be a string or a JSON-serializable value');
    if (method === 'GET' || method === 'HEAD') return invalid(`a ${method} request cannot have a body`);
    if (bodyArg.kind === 'string') {
      body = Buffer.from(bodyArg.value, 'utf8');
    } else {
      body = Buffer.from(bodyArg.json, 'utf8');
      headers.headers['content-type'] ??= 'application/json';
    }
    if (body.length > maxRequestBytes) return tooLarge(maxRequestBytes);
  }
  return { ok: true, request: { url: urlArg.value, method, headers: headers.headers, body } };
}

function parseHeaders(arg: GuestArg | undefined): { ok: true; headers: Record<string, string> } | Extract<Parsed, { ok: false }> {
  const headers: Record<string, string> = {};
  if (!arg || arg.kind === 'undefined' || (arg.kind === 'json' && arg.json === 'null')) return { ok: true, headers };
  if (arg.kind !== 'json') return invalid('headers must be an object of strings');
  const parsed = parseUntrustedJson(arg.json);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return invalid('headers must be an object of strings');
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (entries.length > MAX_HEADERS) return invalid(`at most ${MAX_HEADERS} headers`);
  for (const [name, raw] of entries) {
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      return invalid(`header ${JSON.stringify(name.slice(0, 64))} must be a string`);
    }
    const value = String(raw);
    if (FORBIDDEN_HEADER_CHARS.test(name) || FORBIDDEN_HEADER_CHARS.test(value)) {
      return {
        ok: false,
        refused: true,
        code: 'invalid_header',
        message: `header ${JSON.stringify(name.slice(0, 64))} contains CR, LF or NUL`,
      };
    }
    if (!HEADER_NAME.test(name)) return invalid(`${JSON.stringify(name.slice(0, 64))} is not a valid header name`);
    if (value.length > MAX_HEADER_VALUE_CHARS) return invalid(`header ${name} is longer than ${MAX_HEADER_VALUE_CHARS} characters`);
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower) || lower.startsWith('proxy-')) {
      return { ok: false, refused: true, code: 'header_not_allowed', message: `the header ${lower} is set by the sandbox` };
    }
    headers[lower] = value;
  }
  return { ok: true, headers };
}

function toGuestResponse(response: GuardedResponse): { status: number; headers: Record<string, string>; body: unknown } {
  const text = response.body.toString('utf8');
  let body: unknown = text;
  if (JSON_CONTENT_TYPE.test(response.headers['content-type'] ?? '') && text.length > 0) {
    try {
      body = parseUntrustedJson(text);
    } catch {
      body = text;
    }
  }
  return { status: response.status, headers: response.headers, body };
}

function invalid(message: string): Extract<Parsed, { ok: false }> {
  return { ok: false, refused: false, code: 'invalid_arguments', message };
}

function tooLarge(maxBytes: number): Extract<Parsed, { ok: false }> {
  return { ok: false, refused: false, code: 'request_too_large', message: `the request body exceeds ${maxBytes} bytes` };
}

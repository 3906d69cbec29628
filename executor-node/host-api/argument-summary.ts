// Audit-safe summaries of host-call arguments: short, and with anything that looks like a
// credential replaced. The audit trail is kept forever and shown to operators, so it must
// never become the place where an agent's API tokens end up.
import type { GuestArg } from '../sandbox/host-function.ts';
import type { JsonValue } from '../sandbox/sandbox-result.ts';
import { parseUntrustedJson } from '../sandbox/untrusted-json.ts';

export const REDACTED = '[redacted]';
const MAX_URL_CHARS = 256;
const MAX_VALUE_CHARS = 64;
const MAX_KEY_CHARS = 128;
const MAX_HEADERS_LISTED = 32;

/** Header and query-parameter names whose values are secrets more often than not. */
const SECRET_NAME = /auth|token|secret|key|passw|cookie|session|signature|credential|bearer|jwt/i;

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...[${text.length - max} more]` : text;
}

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** The URL with secret-looking query values and any userinfo replaced, then truncated. */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return truncate(raw, MAX_URL_CHARS);
  }
  if (url.username || url.password) {
    url.username = REDACTED;
    url.password = '';
  }
  for (const name of [...url.searchParams.keys()]) {
    if (isSecretName(name)) url.searchParams.set(name, REDACTED);
  }
  return truncate(url.href, MAX_URL_CHARS);
}

export function redactHeaders(headers: Record<string, unknown>): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  const names = Object.keys(headers);
  for (const name of names.slice(0, MAX_HEADERS_LISTED)) {
    const value = headers[name];
    out[truncate(name, MAX_VALUE_CHARS)] = isSecretName(name) ? REDACTED : truncate(String(value), MAX_VALUE_CHARS);
  }
  if (names.length > MAX_HEADERS_LISTED) out['...'] = `${names.length - MAX_HEADERS_LISTED} more`;
  return out;
}

/** Byte size of an argument as the guest passed it, for summaries that must not show content. */
export function argBytes(arg: GuestArg | undefined): number | null {
  if (!arg) return null;
  if (arg.kind === 'string') return Buffer.byteLength(arg.value, 'utf8');
  if (arg.kind === 'json') return Buffer.byteLength(arg.json, 'utf8');
  return null;
}

export function summarizeHttpRequest(args: readonly GuestArg[]): Record<string, JsonValue> {
  const [url, method, headers, body] = args;
  const summary: Record<string, JsonValue> = {
    url: url?.kind === 'string' ? redactUrl(url.value) : describeArg(url),
    method: method?.kind === 'string' ? truncate(method.value, 16) : method?.kind === 'undefined' || !method ? 'GET' : describeArg(method),
  };
  if (headers?.kind === 'json') {
    try {
      const parsed = parseUntrustedJson(headers.json);
      summary.headers = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
        ? redactHeaders(parsed as Record<string, unknown>)
        : describeArg(headers);
    } catch {
      summary.headers = describeArg(headers);
    }
  } else if (headers && headers.kind !== 'undefined') {
    summary.headers = describeArg(headers);
  }
  const bytes = argBytes(body);
  if (bytes !== null) summary.body_bytes = bytes;
  return summary;
}

export function summarizeKey(args: readonly GuestArg[]): Record<string, JsonValue> {
  const [key] = args;
  return { key: key?.kind === 'string' ? truncate(key.value, MAX_KEY_CHARS) : describeArg(key) };
}

export function summarizeOutput(args: readonly GuestArg[]): Record<string, JsonValue> {
  const bytes = argBytes(args[0]);
  return bytes === null ? { output: describeArg(args[0]) } : { output_bytes: bytes };
}

/** A short description of an argument whose content is not shown. */
function describeArg(arg: GuestArg | undefined): string {
  if (!arg || arg.kind === 'undefined') return '(missing)';
  if (arg.kind === 'too_large') return `(larger than ${arg.limitBytes} bytes)`;
  if (arg.kind === 'not_json') return '(not JSON-serializable)';
  if (arg.kind === 'string') return '(string)';
  return `(${arg.json.startsWith('[') ? 'array' : arg.json.startsWith('{') ? 'object' : 'value'})`;
}

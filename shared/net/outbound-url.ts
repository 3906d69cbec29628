// Parses a URL an agent wants to reach and refuses the shapes that smuggle a destination
// past the address check: other schemes, userinfo, and IP literals in any spelling.
// The WHATWG parser already canonicalises decimal, octal, hex and short IPv4 forms
// (http://2130706433/, 0x7f.1, 0177.0.0.1 all become 127.0.0.1), so the literal check
// below sees the address the socket would use.
import { isIP } from 'node:net';

export const MAX_URL_CHARS = 8192;

export type OutboundUrlRefusal =
  | 'invalid_url'
  | 'scheme_not_allowed'
  | 'userinfo_not_allowed';

export interface OutboundTarget {
  readonly url: URL;
  /** Lower-case host name without brackets or trailing dot: what allow-lists and DNS see. */
  readonly host: string;
  /** The IP when the URL names one directly; such hosts are never resolved. */
  readonly literalAddress: string | null;
  readonly port: number;
}

export type OutboundUrlResult =
  | { ok: true; target: OutboundTarget }
  | { ok: false; code: OutboundUrlRefusal; message: string };

export function parseOutboundUrl(raw: string, base?: URL): OutboundUrlResult {
  if (raw.length > MAX_URL_CHARS) return refuse('invalid_url', `URL longer than ${MAX_URL_CHARS} characters`);
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return refuse('invalid_url', 'not a valid absolute URL');
  }
  if (url.protocol !== 'https:') return refuse('scheme_not_allowed', `scheme ${url.protocol} is not allowed; use https:`);
  // https://trusted.example@169.254.169.254/ reads as one host and connects to another.
  if (url.username !== '' || url.password !== '') {
    return refuse('userinfo_not_allowed', 'credentials in the URL (user@host) are not allowed');
  }
  let host = url.hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '') return refuse('invalid_url', 'URL has no host');
  url.hash = '';
  return {
    ok: true,
    target: {
      url,
      host,
      literalAddress: isIP(host) === 0 ? null : host,
      port: url.port === '' ? 443 : Number(url.port),
    },
  };
}

function refuse(code: OutboundUrlRefusal, message: string): OutboundUrlResult {
  return { ok: false, code, message };
}

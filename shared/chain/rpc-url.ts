// Chain RPC URLs often carry credentials: user:password, or an API key in the path
// (https://host/v3/<key>) or the query. Anything that prints or logs a URL masks it here.

/** Path segments this long and made of key-like characters are taken for API keys. */
const KEY_LIKE_SEGMENT = /^[A-Za-z0-9_-]{16,}$/;
const MASK = '***';

export function maskRpcUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return MASK;
  }
  if (parsed.username) parsed.username = MASK;
  if (parsed.password) parsed.password = MASK;
  parsed.pathname = parsed.pathname
    .split('/')
    .map((segment) => (KEY_LIKE_SEGMENT.test(segment) ? MASK : segment))
    .join('/');
  for (const name of [...parsed.searchParams.keys()]) parsed.searchParams.set(name, MASK);
  // URL escapes the asterisks it was given; show them as typed.
  return parsed.toString().replaceAll('%2A%2A%2A', MASK);
}

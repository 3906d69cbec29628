// Input and output summaries for the audit trail: JSON text with secret-looking fields
// redacted, cut to a bounded length on a code-point boundary, and free of what
// PostgreSQL text refuses (NUL) or canonical JSON refuses (lone surrogates).

export const SUMMARY_MAX_CHARS = 1000;
export const REDACTED = '[redacted]';

const SECRET_KEY = /(authorization|password|passwd|secret|token|api[_-]?key|credential|private[_-]?key|cookie|session)/i;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const API_KEY = /\btzk_[0-9A-Za-z]{43}\b/g;

/** Removes NULs and replaces lone surrogates, then truncates to `max` code points. */
export function sanitizeText(value: string, max: number): string {
  const clean = value.replace(/\u0000/g, '').replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  if (clean.length <= max) return clean;
  const points = Array.from(clean);
  return points.length <= max ? clean : `${points.slice(0, max - 1).join('')}…`;
}

function redact(value: unknown, depth: number): unknown {
  if (depth > 20) return '[depth limit]';
  if (typeof value === 'string') return value.replace(BEARER, `$1 ${REDACTED}`).replace(API_KEY, REDACTED);
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value).slice(0, 100)) out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1);
    return out;
  }
  return value;
}

/** A bounded, redacted JSON summary of any value; null for undefined. */
export function summarize(value: unknown, max = SUMMARY_MAX_CHARS): string | null {
  if (value === undefined) return null;
  let text: string;
  try {
    text = typeof value === 'string' ? (redact(value, 0) as string) : (JSON.stringify(redact(value, 0)) ?? String(value));
  } catch {
    text = '[unserialisable]';
  }
  return sanitizeText(text, max);
}

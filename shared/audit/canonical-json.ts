// Canonical JSON (RFC 8785, JCS): exactly one text per JSON value, so a hash over it can be
// re-derived by anyone, in any language, from the same data. Anything JSON cannot say
// faithfully is refused rather than silently dropped or coerced, because a value that
// serialises differently on the write path and on the verify path is a phantom chain break.

/** A value canonicalJson accepts: plain objects, arrays, strings, finite numbers, booleans, null. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Raised for a value that has no canonical JSON form; `path` names it, e.g. `$.input[2].size`. */
export class CanonicalJsonError extends TypeError {
  override readonly name = 'CanonicalJsonError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`canonical JSON: ${path} ${reason}`);
  }
}

/** Deeper than this is refused with a clear error instead of a stack overflow. */
export const MAX_DEPTH = 256;

// In a /u regex a surrogate class only matches a surrogate that is not half of a pair.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const PLAIN_KEY = /^[A-Za-z_$][\w$]*$/;

/**
 * Serialises `value` per RFC 8785: object keys sorted by UTF-16 code units, no whitespace,
 * numbers in ECMAScript shortest form (-0 as 0), strings escaped as JSON.stringify does.
 * Throws CanonicalJsonError on undefined, functions, symbols, BigInt, NaN/Infinity, lone
 * surrogates, cycles, non-plain objects (Date, Map, class instances) and nesting past MAX_DEPTH.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, '$', new Set<object>(), out);
  return out.join('');
}

function write(value: unknown, path: string, ancestors: Set<object>, out: string[]): void {
  switch (typeof value) {
    case 'string':
      out.push(jsonString(value, path));
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(path, `is ${value}; JSON has no non-finite numbers`);
      // JSON.stringify prints the ECMAScript Number::toString form RFC 8785 requires, and -0 as 0.
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'object':
      if (value === null) {
        out.push('null');
        return;
      }
      writeContainer(value, path, ancestors, out);
      return;
    case 'undefined':
      throw new CanonicalJsonError(path, 'is undefined; omit the key or use null');
    case 'bigint':
      throw new CanonicalJsonError(path, 'is a BigInt; pass it as a decimal string');
    default:
      throw new CanonicalJsonError(path, `is a ${typeof value}, which JSON cannot represent`);
  }
}

function writeContainer(value: object, path: string, ancestors: Set<object>, out: string[]): void {
  // Only objects on the current path count: the same object twice in siblings is fine.
  if (ancestors.has(value)) throw new CanonicalJsonError(path, 'is a cycle back to an enclosing value');
  if (ancestors.size >= MAX_DEPTH) throw new CanonicalJsonError(path, `is nested deeper than ${MAX_DEPTH} levels`);
  ancestors.add(value);
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      const itemPath = `${path}[${i}]`;
      if (!(i in value)) throw new CanonicalJsonError(itemPath, 'is a hole in a sparse array');
      write(value[i], itemPath, ancestors, out);
    }
    out.push(']');
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      // JSON.stringify would print a Map as {} and a Date through toJSON; neither round-trips.
      const kind = (value.constructor as { name?: unknown } | undefined)?.name;
      throw new CanonicalJsonError(path, `is a ${typeof kind === 'string' && kind ? kind : 'non-plain object'}; only plain objects and arrays are allowed`);
    }
    const record = value as Record<string, unknown>;
    // Array.prototype.sort with no comparator orders by UTF-16 code units, as RFC 8785 3.2.3 asks.
    const keys = Object.keys(record).sort();
    out.push('{');
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const keyPath = PLAIN_KEY.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
      if (i > 0) out.push(',');
      out.push(jsonString(key, keyPath), ':');
      write(record[key], keyPath, ancestors, out);
    }
    out.push('}');
  }
  ancestors.delete(value);
}

function jsonString(s: string, path: string): string {
  // I-JSON (RFC 7493), which RFC 8785 requires, forbids lone surrogates; PostgreSQL cannot
  // store them either, so a stored copy would no longer hash the same.
  if (LONE_SURROGATE.test(s)) throw new CanonicalJsonError(path, 'contains a lone UTF-16 surrogate');
  return JSON.stringify(s);
}

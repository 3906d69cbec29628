// PostgreSQL array literals, built ahead of a query. node-postgres would serialise JS
// arrays the same way, but only when the query is sent; building them earlier lets the
// recorder do that work while the previous batch is still being inserted.

export type PgArrayValue = string | number | boolean | null;

function element(v: PgArrayValue): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 't' : 'f';
  return `"${v.includes('\\') || v.includes('"') ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"') : v}"`;
}

/** A literal for a one-dimensional array, to be cast in SQL (`$1::text[]`). */
export function pgArray(values: readonly PgArrayValue[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : ',') + element(values[i]!);
  return `${out}}`;
}

// Parses JSON text that came out of a sandbox. A "__proto__" key is dropped rather than
// kept as an own property: spread into an object elsewhere, it would set a prototype.

export function parseUntrustedJson(text: string): unknown {
  return JSON.parse(text, (key, value: unknown) => (key === '__proto__' ? undefined : value));
}

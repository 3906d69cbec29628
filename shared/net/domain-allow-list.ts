// Matches a host against an agent's allowed_domains: exact names and "*.example.com"
// wildcards. An empty list allows any host (the address check still applies).
import { domainToASCII } from 'node:url';

/** Lower-case ASCII (punycode) form without a trailing dot, as URL hosts are compared. */
function normalizeName(name: string): string {
  const lowered = name.trim().toLowerCase().replace(/\.$/, '');
  return domainToASCII(lowered) || lowered;
}

/**
 * "*.example.com" matches any name below example.com (a.example.com, a.b.example.com)
 * but not example.com itself, as list it separately when both are wanted. A wildcard
 * never matches an IP literal.
 */
export function hostMatchesAllowList(host: string, allowedDomains: readonly string[]): boolean {
  if (allowedDomains.length === 0) return true;
  const name = normalizeName(host);
  return allowedDomains.some((pattern) => {
    if (pattern.startsWith('*.')) {
      const suffix = normalizeName(pattern.slice(2));
      return suffix !== '' && name.endsWith(`.${suffix}`);
    }
    return normalizeName(pattern) === name;
  });
}

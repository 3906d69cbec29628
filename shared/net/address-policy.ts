// Decides whether the sandbox may open a connection to an IP address. Deny by default:
// only public unicast space passes, plus the operator's explicit SANDBOX_TRUSTED_CIDRS.
// Pure: no DNS, no sockets; the HTTP client asks this after every resolution.
import ipaddr from 'ipaddr.js';

/**
 * Cloud metadata endpoints, named so that audit entries say what was attempted. Most
 * already fall in a refused range (link-local, unique-local, CGNAT); listing them makes
 * sure they stay refused even if an operator trusts the surrounding network.
 */
const METADATA_ADDRESSES: readonly string[] = [
  '169.254.169.254', // AWS, GCP, Azure, OpenStack, DigitalOcean
  '169.254.170.2', // AWS ECS task metadata
  '100.100.100.200', // Alibaba Cloud
  '192.0.0.192', // Oracle Cloud
  'fd00:ec2::254', // AWS IMDS over IPv6
];

/** IPv6 global unicast is 2000::/3; anything outside it has no business being an agent's peer. */
const IPV6_GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

export type AddressVerdict =
  | { allowed: true; address: string; trusted: boolean }
  | { allowed: false; address: string; range: string };

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Thrown when an operator-supplied CIDR does not parse; names the bad entry. */
export class InvalidCidrError extends Error {
  override readonly name = 'InvalidCidrError';
}

/**
 * The range an address belongs to, in ipaddr.js's vocabulary plus 'metadata' and
 * 'invalid'. 'unicast' means public. IPv4-mapped IPv6 (::ffff:a.b.c.d) keeps its own
 * name: it is refused outright rather than unwrapped, so no mapped form of a private
 * address can slip through a check that only looked at IPv4.
 */
export function classifyAddress(address: string): string {
  if (!ipaddr.isValid(address)) return 'invalid';
  const parsed = ipaddr.parse(address);
  const normalized = parsed.toNormalizedString();
  if (METADATA_ADDRESSES.some((m) => ipaddr.parse(m).toNormalizedString() === normalized)) return 'metadata';
  const range = parsed.range();
  if (parsed.kind() === 'ipv6' && range === 'unicast' && !(parsed as ipaddr.IPv6).match(IPV6_GLOBAL_UNICAST)) {
    return 'reserved';
  }
  return range;
}

export class AddressPolicy {
  private readonly trusted: readonly Cidr[];

  /** @throws InvalidCidrError naming the first entry that is not a CIDR. */
  constructor(trustedCidrs: readonly string[] = []) {
    this.trusted = trustedCidrs.map((cidr) => {
      try {
        return ipaddr.parseCIDR(cidr) as Cidr;
      } catch {
        throw new InvalidCidrError(`"${cidr}" is not a CIDR such as 10.0.0.0/8`);
      }
    });
  }

  get hasTrustedNetworks(): boolean {
    return this.trusted.length > 0;
  }

  check(address: string): AddressVerdict {
    const range = classifyAddress(address);
    if (range === 'unicast') return { allowed: true, address, trusted: false };
    // Metadata and mapped forms stay refused whatever the operator trusts: trusting a
    // private network is a deliberate choice, reaching instance credentials never is.
    if (range !== 'invalid' && range !== 'metadata' && range !== 'ipv4Mapped' && this.isTrusted(address)) {
      return { allowed: true, address, trusted: true };
    }
    return { allowed: false, address, range };
  }

  private isTrusted(address: string): boolean {
    const parsed = ipaddr.parse(address);
    return this.trusted.some(([net, bits]) => net.kind() === parsed.kind() && parsed.match(net, bits));
  }
}

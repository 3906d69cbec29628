// Resolves a host once, checks every address it returned, and hands the socket a
// lookup function that can only answer with the address that was checked. There is no
// second resolution between check and connect, so a DNS answer that changes in between
// (rebinding) cannot redirect the connection.
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import type { AddressPolicy } from './address-policy.ts';
import { OutboundRequestError } from './outbound-request-error.ts';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Injectable so tests can make a name resolve to loopback without touching /etc/hosts. */
export type Resolver = (host: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: Resolver = async (host) => {
  const answers = await dnsLookup(host, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/**
 * Returns the address to connect to. Every answer must pass: a name that resolves to a
 * public and a private address at once is refused (fail closed), since which one the
 * socket would pick is not ours to predict.
 */
export async function resolveChecked(host: string, policy: AddressPolicy, resolve: Resolver): Promise<ResolvedAddress> {
  let answers: readonly ResolvedAddress[];
  try {
    answers = await resolve(host);
  } catch {
    throw new OutboundRequestError('dns_failed', `could not resolve ${host}`);
  }
  if (answers.length === 0) throw new OutboundRequestError('dns_failed', `could not resolve ${host}`);
  for (const answer of answers) {
    const verdict = policy.check(answer.address);
    if (!verdict.allowed) {
      throw new OutboundRequestError(
        'address_not_allowed',
        `${host} resolves to ${answer.address} (${verdict.range}), which the sandbox may not reach`,
      );
    }
  }
  return answers[0]!;
}

/** A lookup for net/tls.connect that answers with the pinned address and nothing else. */
export function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  }) as LookupFunction;
}

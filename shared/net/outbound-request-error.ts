// Why an outbound request did not produce a response. `refused` separates policy
// decisions (the request was not allowed to go out) from failures on the way.

export type OutboundRefusalCode =
  | 'invalid_url'
  | 'scheme_not_allowed'
  | 'userinfo_not_allowed'
  | 'domain_not_allowed'
  | 'address_not_allowed';

export type OutboundFailureCode =
  | 'dns_failed'
  | 'network_error'
  | 'tls_error'
  | 'timeout'
  | 'aborted'
  | 'too_many_redirects'
  | 'response_too_large';

export type OutboundErrorCode = OutboundRefusalCode | OutboundFailureCode;

const REFUSALS: ReadonlySet<OutboundErrorCode> = new Set<OutboundErrorCode>([
  'invalid_url',
  'scheme_not_allowed',
  'userinfo_not_allowed',
  'domain_not_allowed',
  'address_not_allowed',
]);

export class OutboundRequestError extends Error {
  override readonly name = 'OutboundRequestError';
  constructor(
    readonly code: OutboundErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** True when policy refused the request; false when the network failed it. */
  get refused(): boolean {
    return REFUSALS.has(this.code);
  }
}

// The one error type the SDK throws: the server's stable error code, or NETWORK_ERROR / TIMEOUT
// when no answer arrived.
export class SDKError extends Error {
  override readonly name = 'SDKError';
  /** The server's error code (`unauthenticated`, `insufficient_scope`, `not_found`, ...), or `NETWORK_ERROR` / `TIMEOUT`. */
  readonly code: string;
  /** The HTTP status, or 0 when no answer arrived. */
  readonly status: number;
  readonly details: unknown;

  constructor(code: string, status: number, message: string, details?: unknown) {
    super(message);
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

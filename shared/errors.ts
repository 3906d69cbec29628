// The one error type that crosses module boundaries. `code` is part of the public API:
// clients branch on it, so codes are stable snake_case and never renamed.

export interface ErrorDetails {
  [key: string]: unknown;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
  }
}

export const errors = {
  validation(field: string, message: string, details?: ErrorDetails): AppError {
    return new AppError(400, 'validation_failed', `${field}: ${message}`, { field, ...details });
  },
  invalidJson(message: string): AppError {
    return new AppError(400, 'invalid_json', `request body is not valid JSON: ${message}`);
  },
  payloadTooLarge(limitBytes: number): AppError {
    return new AppError(413, 'payload_too_large', `request body exceeds ${limitBytes} bytes`, { limit_bytes: limitBytes });
  },
  unsupportedMediaType(): AppError {
    return new AppError(415, 'unsupported_media_type', 'request body must be application/json');
  },
  unauthenticated(message = 'missing or invalid API key'): AppError {
    return new AppError(401, 'unauthenticated', message);
  },
  insufficientScope(scope: string): AppError {
    return new AppError(403, 'insufficient_scope', `this API key lacks the scope ${scope}`, { required_scope: scope });
  },
  notFound(what: string): AppError {
    return new AppError(404, 'not_found', `${what} not found`);
  },
  conflict(code: string, message: string, details?: ErrorDetails): AppError {
    return new AppError(409, code, message, details);
  },
  unavailable(message: string): AppError {
    return new AppError(503, 'unavailable', message);
  },
};

/** Raised at start when the environment is wrong; main prints its message and exits. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

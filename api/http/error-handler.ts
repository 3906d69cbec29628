// Turns anything thrown into the public error shape; internals stay in the log.
import type { Context, Next } from 'koa';
import type { Logger } from '../../shared/logger.ts';
import { AppError } from '../../shared/errors.ts';

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

const INTERNAL_ERROR_BODY: ErrorBody = { error: { code: 'internal_error', message: 'internal server error' } };

export function toHttpError(err: unknown): { status: number; body: ErrorBody } {
  if (!(err instanceof AppError)) return { status: 500, body: INTERNAL_ERROR_BODY };
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  if (err.details) body.error.details = err.details;
  return { status: err.status, body };
}

export function errorHandler(log: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        // Assigning a body makes Koa default the status to 200, so set it again after.
        const status = ctx.status;
        if (status === 404) ctx.body = { error: { code: 'not_found', message: `no route for ${ctx.method} ${ctx.path}` } };
        else if (status === 405) ctx.body = { error: { code: 'method_not_allowed', message: `${ctx.method} is not allowed on ${ctx.path}` } };
        ctx.status = status;
      }
    } catch (err) {
      const { status, body } = toHttpError(err);
      if (status >= 500) log.error({ err, method: ctx.method, path: ctx.path }, 'request failed');
      ctx.status = status;
      ctx.body = body;
    }
  };
}

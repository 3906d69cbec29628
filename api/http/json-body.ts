// Reads a JSON request body with a hard size limit. Malformed, oversized or non-JSON
// bodies become 4xx errors before any handler runs, so they can change nothing.
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { errors } from '../../shared/errors.ts';

export async function readJsonBody(ctx: Context, limitBytes: number): Promise<unknown> {
  const length = ctx.request.length;
  const hasBody = (length !== undefined && length > 0) || ctx.get('transfer-encoding') !== '';
  if (!hasBody) return undefined;
  if (!ctx.is('application/json')) throw errors.unsupportedMediaType();
  if (length !== undefined && length > limitBytes) throw errors.payloadTooLarge(limitBytes);
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit: limitBytes, encoding: 'utf8', length });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') throw errors.payloadTooLarge(limitBytes);
    throw errors.invalidJson('could not read the request body');
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw errors.invalidJson((err as Error).message);
  }
}

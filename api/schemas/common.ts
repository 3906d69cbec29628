// Schemas shared by many routes: ids, pagination, the error body.
import { z } from 'zod';

/** Ids are positive integers below 2^53; anything else in a path is a 400, never a lookup. */
export const idString = z
  .string()
  .regex(/^[1-9][0-9]{0,14}$/, 'must be a positive integer id')
  .transform(Number);

export function intFromQuery(min: number, max: number) {
  return z
    .string()
    .regex(/^[0-9]{1,9}$/, 'must be a non-negative integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

export const paginationQuery = z
  .object({
    page: intFromQuery(1, 1_000_000).optional(),
    limit: intFromQuery(1, 100).optional(),
  })
  .strict();

export const errorBody = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Stable snake_case error code' }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ id: 'Error' });

export const timestamp = z.string().meta({ format: 'date-time' });

/** The error responses every authenticated route can give, for its OpenAPI entry. */
export function authErrorResponses(scope: string) {
  return {
    400: { description: 'Invalid input', schema: errorBody },
    401: { description: 'Missing, unknown or revoked API key', schema: errorBody },
    403: { description: `The key lacks ${scope}`, schema: errorBody },
  } as const;
}

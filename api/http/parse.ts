// Parses untrusted input with a zod schema and turns the first issue into a
// validation_failed error that names the field.
import type { z } from 'zod';
import { errors } from '../../shared/errors.ts';

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'path'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  let path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') path = [...path, issue.keys[0] ?? ''];
  const field = path.length > 0 ? path.join('.') : where;
  const message = issue.code === 'unrecognized_keys' ? `unknown field` : issue.message;
  throw errors.validation(field, message, { location: where });
}

// PostgreSQL returns int8 as a string to avoid precision loss; our ids stay far below
// 2^53, and the API promises numeric ids, so we convert at the column.
import type { ValueTransformer } from 'typeorm';

export const bigintAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

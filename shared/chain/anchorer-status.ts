// The anchorer's health as the active anchorer publishes it in Redis, and as the api and
// `tz anchor status` read it back (parsed: a value read from Redis is input like any other).
import { z } from 'zod';

export const anchorerStatusSchema = z.object({
  /** Which anchorer process holds the lease and wrote this. */
  holder: z.string(),
  rpc_url: z.string(),
  chain_id: z.string().nullable(),
  anchor_address: z.string(),
  /** False after the last chain call failed to get an answer; true after one succeeded. */
  chain_reachable: z.boolean(),
  /** Counters since this holder took the lease. */
  chain_errors_total: z.number().int().nonnegative(),
  errors_total: z.number().int().nonnegative(),
  consecutive_failures: z.number().int().nonnegative(),
  batches_confirmed_total: z.number().int().nonnegative(),
  last_error: z.string().nullable(),
  last_error_at: z.string().nullable(),
  last_success_at: z.string().nullable(),
  next_retry_at: z.string().nullable(),
  updated_at: z.string(),
});

export type AnchorerStatus = z.infer<typeof anchorerStatusSchema>;

/** Parses the stored JSON; null when absent or not a status this version wrote. */
export function parseAnchorerStatus(raw: string | null): AnchorerStatus | null {
  if (raw === null) return null;
  try {
    const parsed = anchorerStatusSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

// Operator-set execution limits per account (swarm '') and per swarm.
import type { DataSource } from 'typeorm';

export interface LimitSettings {
  executions_per_hour?: number | null;
  executions_per_minute?: number | null;
  concurrency?: number | null;
}

export interface LimitRow {
  swarm: string;
  executions_per_hour: number | null;
  executions_per_minute: number | null;
  concurrency: number | null;
}

export class RateLimitStore {
  constructor(private readonly db: DataSource) {}

  async set(accountId: number, swarm: string | null, settings: LimitSettings): Promise<void> {
    await this.db.query(
      `INSERT INTO rate_limits (account_id, swarm, executions_per_hour, executions_per_minute, concurrency)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (account_id, swarm) DO UPDATE SET
         executions_per_hour = COALESCE($3, rate_limits.executions_per_hour),
         executions_per_minute = COALESCE($4, rate_limits.executions_per_minute),
         concurrency = COALESCE($5, rate_limits.concurrency),
         updated_at = now()`,
      [accountId, swarm ?? '', settings.executions_per_hour ?? null, settings.executions_per_minute ?? null, settings.concurrency ?? null],
    );
  }

  async list(accountId: number): Promise<LimitRow[]> {
    return (await this.db.query(
      `SELECT swarm, executions_per_hour, executions_per_minute, concurrency FROM rate_limits WHERE account_id = $1 ORDER BY swarm`,
      [accountId],
    )) as LimitRow[];
  }
}

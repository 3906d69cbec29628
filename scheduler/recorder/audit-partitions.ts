// Keeps monthly audit partitions created ahead of time. Creating a partition takes a lock
// on the parent table, so it happens here, outside the recorder's write transactions.
import type { DataSource } from 'typeorm';

export const MONTHS_AHEAD = 2;

function monthKey(date: Date): string {
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}

export class AuditPartitions {
  private readonly known = new Set<string>();

  constructor(private readonly db: DataSource) {}

  /** Ensures the partitions of `from`'s month and the next MONTHS_AHEAD months exist. */
  async ensure(from: Date): Promise<void> {
    for (let m = 0; m <= MONTHS_AHEAD; m++) {
      const month = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + m, 1));
      const key = monthKey(month);
      if (this.known.has(key)) continue;
      try {
        await this.db.query(`SELECT tz_audit_partition($1::date)`, [month.toISOString().slice(0, 10)]);
      } catch (err) {
        // Another recorder created it between our check and our CREATE: that is fine.
        if ((err as { driverError?: { code?: string } }).driverError?.code !== '42P07') throw err;
      }
      this.known.add(key);
    }
  }
}

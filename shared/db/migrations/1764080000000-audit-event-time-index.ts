// The recorder's duplicate check (chain-writer.ts) looks a batch's event ids up among
// records since a time: `event_id = ANY($1) AND recorded_at >= $2`. With only an index on
// event_id, a generic plan made while a partition was young (or never analysed, as where
// autovacuum is off) read the account-and-time index instead, on its time column alone:
// every record of the last hour and more, once per recorder batch, growing with the rate.
// An index on both columns matches both conditions, so every plan takes it; it also
// answers lookups by event_id alone, as the old one did.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AuditEventTimeIndex1764080000000 implements MigrationInterface {
  name = 'AuditEventTimeIndex1764080000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX audit_records_event_time_idx ON audit_records (event_id, recorded_at)`);
    await q.query(`DROP INDEX audit_records_event_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX audit_records_event_idx ON audit_records (event_id)`);
    await q.query(`DROP INDEX audit_records_event_time_idx`);
  }
}

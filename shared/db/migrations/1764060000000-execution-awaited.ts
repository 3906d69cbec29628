// Whether a synchronous caller waits for the execution's end. The scheduler publishes a
// done notice (which every api process receives) only for those: an asynchronous
// execution's end reaches its callers by polling and live progress, and under load the
// notices of thousands of executions nobody waits for were a large share of the api's work.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ExecutionAwaited1764060000000 implements MigrationInterface {
  name = 'ExecutionAwaited1764060000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE executions ADD COLUMN awaited boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE executions DROP COLUMN awaited`);
  }
}

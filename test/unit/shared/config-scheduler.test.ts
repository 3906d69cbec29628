import assert from 'node:assert/strict';
import { loadConfig } from '../../../shared/config.ts';
import { ConfigError } from '../../../shared/errors.ts';

describe('config: scheduler settings', () => {
  it('defaults to a 2 s sweep and sessions with sequential scans off', () => {
    assert.deepEqual(loadConfig({}).scheduler, { sweepIntervalMs: 2000, keyedLookupsOnly: true, execJobsKept: 50_000 });
  });

  it('reads SCHEDULER_EXEC_JOBS_KEPT', () => {
    assert.equal(loadConfig({ SCHEDULER_EXEC_JOBS_KEPT: '100' }).scheduler.execJobsKept, 100);
  });

  it('leaves PostgreSQL its own setting with SCHEDULER_DB_SEQSCAN=default', () => {
    assert.equal(loadConfig({ SCHEDULER_DB_SEQSCAN: 'default' }).scheduler.keyedLookupsOnly, false);
    assert.equal(loadConfig({ SCHEDULER_DB_SEQSCAN: 'off' }).scheduler.keyedLookupsOnly, true);
  });

  for (const value of ['99', '-1', 'many', '1.5']) {
    it(`rejects SCHEDULER_EXEC_JOBS_KEPT=${JSON.stringify(value)} naming the variable`, () => {
      assert.throws(
        () => loadConfig({ SCHEDULER_EXEC_JOBS_KEPT: value }),
        (err: unknown) => err instanceof ConfigError && err.message.startsWith('configuration error: SCHEDULER_EXEC_JOBS_KEPT '),
      );
    });
  }

  for (const value of ['on', 'false', 'OFF']) {
    it(`rejects SCHEDULER_DB_SEQSCAN=${JSON.stringify(value)} naming the variable`, () => {
      assert.throws(
        () => loadConfig({ SCHEDULER_DB_SEQSCAN: value }),
        (err: unknown) => err instanceof ConfigError && err.message.startsWith('configuration error: SCHEDULER_DB_SEQSCAN '),
      );
    });
  }
});

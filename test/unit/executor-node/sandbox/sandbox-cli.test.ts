// `tz sandbox run` as a user runs it: exit status, usage errors, and a hostile script.
import assert from 'node:assert/strict';
import type { SandboxResult } from '../../../../executor-node/sandbox/sandbox-result.ts';
import { runTz } from '../../../helpers/processes.ts';
import { fixturePath } from '../../../helpers/sandbox-harness.ts';

describe('tz sandbox run', function () {
  this.timeout(30_000);

  it('prints a timed_out result and exits 1 for an endless loop', async () => {
    const out = await runTz(['sandbox', 'run', fixturePath('endless-loop.js'), '--config', '{"cpu_time_limit_ms":200}'], {});
    assert.equal(out.code, 1, out.stderr);
    const result = JSON.parse(out.stdout) as SandboxResult;
    assert.deepEqual([result.status, result.error?.code, result.was_terminated], ['timed_out', 'cpu_time_limit_exceeded', true]);
  });

  it('answers bad usage with exit 2 and the usage line, running nothing', async () => {
    for (const args of [
      ['sandbox', 'run'],
      ['sandbox', 'run', fixturePath('endless-loop.js'), '--permissions', 'root:all'],
      ['sandbox', 'run', fixturePath('endless-loop.js'), '--config', '{not json'],
      ['sandbox', 'run', fixturePath('endless-loop.js'), '--config', '{"allow_network":true,"sandbox_template":"STRICT"}'],
      ['sandbox', 'run', fixturePath('no-such-file.js')],
    ]) {
      const out = await runTz(args, {});
      assert.equal(out.code, 2, `${args.join(' ')}: ${out.stderr}`);
      assert.match(out.stderr, /usage: tz sandbox run FILE/);
      assert.equal(out.stdout, '');
    }
  });
});

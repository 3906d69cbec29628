import assert from 'node:assert/strict';
import { loadConfig } from '../../../shared/config.ts';
import { ConfigError } from '../../../shared/errors.ts';

describe('config: database settings', () => {
  it('prepares hot statements by name unless DB_NAMED_STATEMENTS=off', () => {
    assert.equal(loadConfig({}).dbNamedStatements, true);
    assert.equal(loadConfig({ DB_NAMED_STATEMENTS: 'on' }).dbNamedStatements, true);
    assert.equal(loadConfig({ DB_NAMED_STATEMENTS: 'off' }).dbNamedStatements, false);
  });

  for (const value of ['false', 'OFF', 'unnamed']) {
    it(`rejects DB_NAMED_STATEMENTS=${JSON.stringify(value)} naming the variable`, () => {
      assert.throws(
        () => loadConfig({ DB_NAMED_STATEMENTS: value }),
        (err: unknown) => err instanceof ConfigError && err.message.startsWith('configuration error: DB_NAMED_STATEMENTS '),
      );
    });
  }
});

import assert from 'node:assert/strict';
import pg from 'pg';
import { pgArray } from '../../../../shared/db/pg-array.ts';

describe('pgArray', () => {
  it('round-trips through PostgreSQL for awkward text, numbers, booleans and NULL', async () => {
    const client = new pg.Client({ connectionString: process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
    await client.connect();
    try {
      const texts = ['plain', 'with "quotes"', 'back\\slash', 'comma,brace{}', 'NULL', '', ' spaced ', 'é😀', 'new\nline', null];
      const { rows } = await client.query('SELECT $1::text[] AS t, $2::bigint[] AS n, $3::boolean[] AS b', [pgArray(texts), pgArray([1, 9007199254740991, null]), pgArray([true, false, null])]);
      assert.deepEqual(rows[0].t, texts);
      assert.deepEqual(rows[0].n, ['1', '9007199254740991', null]);
      assert.deepEqual(rows[0].b, [true, false, null]);
    } finally {
      await client.end();
    }
  });
});

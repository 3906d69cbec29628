// Named prepared statements on real PostgreSQL: a statement is parsed once per pooled
// connection and then reused, answers the rows of its RETURNING clause, and a name can
// never stand for two texts.
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../../../shared/db/data-source.ts';
import { preparedStatement, queryPrepared, queryPreparedIn } from '../../../../shared/db/prepared-statement.ts';
import { createTestDatabase, type TestDatabase } from '../../../helpers/test-database.ts';

describe('prepared statements (real PostgreSQL)', function () {
  this.timeout(30_000);
  let database: TestDatabase;
  let db: DataSource;

  before(async () => {
    database = await createTestDatabase('prepared');
    // One connection, so the session that prepared the statement is the one we inspect.
    db = await openDatabase({ url: database.url, poolSize: 1, applicationName: 'prepared-statement-test' });
    await db.query(`CREATE TABLE items (id bigserial PRIMARY KEY, label text NOT NULL)`);
  });
  after(async () => {
    await db?.destroy();
    await database?.drop();
  });

  const INSERT = preparedStatement('test-items-insert', `INSERT INTO items (label) SELECT unnest($1::text[]) RETURNING id::float8 AS id, label`);

  it('answers the rows of a RETURNING clause, and is prepared once on the connection and reused', async () => {
    const first = await queryPrepared<{ id: number; label: string }>(db, INSERT, [['a', 'b']]);
    assert.deepEqual(first.map((r) => r.label), ['a', 'b']);
    assert.equal(typeof first[0]!.id, 'number');
    const second = await queryPrepared<{ id: number; label: string }>(db, INSERT, [['c']]);
    assert.deepEqual(second.map((r) => r.label), ['c']);
    const prepared = (await db.query(`SELECT name, statement FROM pg_prepared_statements WHERE name = $1`, [INSERT.name])) as { name: string; statement: string }[];
    assert.equal(prepared.length, 1, 'one server-side statement under its name');
    assert.equal(prepared[0]!.statement, INSERT.text);
    assert.equal(Number(((await db.query(`SELECT count(*) AS n FROM items`)) as { n: string }[])[0]!.n), 3);
  });

  it('passes a failing statement\'s error to the caller and keeps the connection usable', async () => {
    const NOT_NULL = preparedStatement('test-items-insert-null', `INSERT INTO items (label) VALUES ($1) RETURNING id`);
    await assert.rejects(queryPrepared(db, NOT_NULL, [null]), /null value in column "label"/);
    assert.deepEqual((await queryPrepared<{ label: string }>(db, INSERT, [['d']])).map((r) => r.label), ['d']);
  });

  it('goes unnamed, in a pool and in a transaction, on a database opened with named statements off', async () => {
    const unnamed = await openDatabase({ url: database.url, poolSize: 1, applicationName: 'prepared-statement-test-unnamed', namedStatements: false });
    try {
      assert.deepEqual((await queryPrepared<{ label: string }>(unnamed, INSERT, [['e']])).map((r) => r.label), ['e']);
      await unnamed.transaction(async (tx) => {
        assert.deepEqual((await queryPreparedIn<{ label: string }>(tx, INSERT, [['f']])).map((r) => r.label), ['f']);
      });
      const prepared = (await unnamed.query(`SELECT name FROM pg_prepared_statements`)) as { name: string }[];
      assert.deepEqual(prepared, [], 'nothing prepared under a name on its session');
    } finally {
      await unnamed.destroy();
    }
  });

  it('refuses a name declared again with another text, and accepts the same declaration twice', () => {
    assert.throws(() => preparedStatement('test-items-insert', `SELECT 1`), /declared twice with different text/);
    assert.deepEqual(preparedStatement('test-items-insert', INSERT.text), INSERT);
  });
});

// Named prepared statements for the statements every execution goes through (queue,
// dispatch, start, end). Sent unnamed, as TypeORM sends every query, PostgreSQL parses and
// plans each one on every call: for these CTEs that was half of their time in the server
// (parse + bind against execute, measured from the statement log of 5,000 executions).
// Named, each pooled connection parses one once and reuses it; after a few calls
// PostgreSQL also settles on a generic plan. They run on the DataSource's own pool, as
// single autocommit statements, or on the connection of a transaction (queryPreparedIn).
// Behind a pooler that moves a client between server sessions (DB_NAMED_STATEMENTS=off)
// they go unnamed: the same text, parsed and planned on every call.
import type { Pool, PoolClient } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';

export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

/** Databases opened with named statements off (DatabaseOptions.namedStatements). */
const unnamed = new WeakSet<DataSource>();

/** From now on this database's prepared statements are sent unnamed. */
export function sendStatementsUnnamed(db: DataSource): void {
  unnamed.add(db);
}

/** Names already given: a connection holds one statement per name, so a name must never mean two texts. */
const declared = new Map<string, string>();

/** Declares a statement once, at module load; a second text under the same name is a programming error. */
export function preparedStatement(name: string, text: string): PreparedStatement {
  const earlier = declared.get(name);
  if (earlier !== undefined && earlier !== text) throw new Error(`prepared statement ${name} declared twice with different text`);
  declared.set(name, text);
  return { name, text };
}

/** A declared statement by name (tests check the plans of the hot ones). */
export function declaredStatement(name: string): PreparedStatement | undefined {
  const text = declared.get(name);
  return text === undefined ? undefined : { name, text };
}

/** Runs the statement on the DataSource's pool and answers its rows (of a RETURNING clause too). */
export function queryPrepared<T>(db: DataSource, statement: PreparedStatement, values: readonly unknown[]): Promise<T[]> {
  // TypeORM's PostgresDriver keeps its node-postgres pool as `master`.
  return runOn((db.driver as unknown as { master: Pool }).master, statement, values, !unnamed.has(db));
}

/** Runs the statement inside the transaction of `tx`, on its connection. */
export function queryPreparedIn<T>(tx: EntityManager, statement: PreparedStatement, values: readonly unknown[]): Promise<T[]> {
  // TypeORM's PostgresQueryRunner holds the transaction's node-postgres client.
  const client = (tx.queryRunner as unknown as { databaseConnection: PoolClient } | undefined)?.databaseConnection;
  if (!client) return Promise.reject(new Error('queryPreparedIn needs an EntityManager of a transaction'));
  return runOn(client, statement, values, !unnamed.has(tx.connection));
}

async function runOn<T>(target: Pool | PoolClient, statement: PreparedStatement, values: readonly unknown[], named: boolean): Promise<T[]> {
  const query = named ? { name: statement.name, text: statement.text, values: [...values] } : { text: statement.text, values: [...values] };
  const result = await target.query(query);
  return result.rows as T[];
}

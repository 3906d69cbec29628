// An embedded PostgreSQL for laptops without one: PGlite (PostgreSQL compiled to WASM)
// served over the wire protocol by pglite-socket, data under DATA_DIR/pglite.
// PGlite is one session underneath; pglite-socket multiplexes client connections and
// keeps a client's open transaction exclusive until it ends.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { Logger } from '../logger.ts';
import type { Closable } from '../process/lifecycle.ts';

export interface EmbeddedPostgres extends Closable {
  readonly url: string;
}

export async function startEmbeddedPostgres(options: { dataDir: string; port: number; log: Logger }): Promise<EmbeddedPostgres> {
  const dir = path.resolve(options.dataDir, 'pglite');
  await mkdir(dir, { recursive: true });
  const db = await PGlite.create({ dataDir: dir });
  const server = new PGLiteSocketServer({ db, port: options.port, host: '127.0.0.1', maxConnections: 64 });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    throw new Error(`embedded PostgreSQL could not listen on 127.0.0.1:${options.port} (LOCAL_POSTGRES_PORT): ${(err as Error).message}`);
  }
  const url = `postgres://postgres@127.0.0.1:${options.port}/postgres`;
  options.log.warn({ url, dataDir: dir }, 'DATABASE_URL unset: running embedded PostgreSQL (PGlite), for development only');
  return {
    name: 'embedded-postgres',
    url,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}

// A real PgBouncer (Debian's package) in front of the machine's PostgreSQL, for the suites
// that check the product behind a pooler. Null when the binary is not installed: `.ci/run`
// installs it, and a machine without it reports those suites as pending.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.ts';
import { waitFor } from './wait-for.ts';

const CANDIDATES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

export interface PgBouncer {
  readonly port: number;
  /** The URL of `database` through the pooler. */
  url(database: string): string;
  stop(): Promise<void>;
}

export function pgBouncerBinary(): string | null {
  return CANDIDATES.find((candidate) => existsSync(candidate)) ?? null;
}

export async function startPgBouncer(options: { poolMode: 'session' | 'transaction'; serverConnections: number }): Promise<PgBouncer | null> {
  const binary = pgBouncerBinary();
  if (!binary) return null;
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'tz-pgbouncer-'));
  writeFileSync(path.join(dir, 'users.txt'), '"postgres" ""\n');
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      '* = host=127.0.0.1 port=5432',
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'users.txt')}`,
      `pool_mode = ${options.poolMode}`,
      `default_pool_size = ${options.serverConnections}`,
      'max_client_conn = 500',
      '',
    ].join('\n'),
  );
  // PgBouncer refuses to run as root; it drops to another user given -u.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    execFileSync('chown', ['-R', 'postgres', dir]);
    chmodSync(dir, 0o755);
  }
  const child: ChildProcess = spawn(binary, [...(asRoot ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}:\n${output}`);
        const client = new pg.Client({ connectionString: url('postgres') });
        try {
          await client.connect();
          await client.query('SELECT 1');
          return true;
        } catch {
          return false;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      (up) => up,
      { timeoutMs: 10_000, intervalMs: 100, what: 'pgbouncer to accept connections' },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, url, stop };
}

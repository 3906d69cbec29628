// `npm start` without a reachable Redis: start `redis-server` from PATH on the port of
// REDIS_URL, or say how to get one. Only for a loopback REDIS_URL; a remote one that
// does not answer is a configuration problem we must not paper over.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.ts';
import type { Closable } from '../process/lifecycle.ts';
import { pingRedis } from '../redis/connection.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const HOW_TO_GET_REDIS =
  'install Redis 7 (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL to a reachable server';

export async function ensureRedis(options: { url: string; dataDir: string; log: Logger }): Promise<Closable | null> {
  try {
    await pingRedis(options.url, 1000);
    return null;
  } catch {
    // fall through: try to start one
  }
  const url = new URL(options.url);
  if (!LOOPBACK.has(url.hostname)) throw new Error(`Redis at ${url.host} (REDIS_URL) is not reachable`);
  const port = url.port || '6379';
  const dir = path.resolve(options.dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  let child: ChildProcess;
  try {
    child = await spawnRedis(['--port', port, '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes']);
  } catch {
    throw new Error(`Redis is not reachable at ${url.host} and redis-server is not on PATH: ${HOW_TO_GET_REDIS}`);
  }
  for (let i = 0; i < 50; i++) {
    try {
      await pingRedis(options.url, 500);
      options.log.warn({ port, dir }, 'Redis was not reachable: started redis-server from PATH');
      return {
        name: 'local-redis',
        async close() {
          child.kill('SIGTERM');
        },
      };
    } catch {
      await sleep(100);
    }
  }
  child.kill('SIGKILL');
  throw new Error(`started redis-server on port ${port} but it did not answer`);
}

function spawnRedis(args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('spawn', () => resolve(child));
  });
}

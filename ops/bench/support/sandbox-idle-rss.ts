// Run as its own process by sandbox.bench.ts: resident memory of a process holding an idle
// pool of two sandbox threads, next to the same process before the pool existed.
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { SandboxPool } from '../../../executor-node/sandbox/sandbox-pool.ts';
import { loadConfig } from '../../../shared/config.ts';
import { resolveAgentConfig } from '../../../shared/sandbox-templates.ts';

const MB = 1024 * 1024;
const settings = { ...loadConfig({}).sandbox, poolSize: 2 };
const resolved = resolveAgentConfig({});
if (!resolved.ok) throw new Error(resolved.message);
const agent = { name: 'idle', version: '1', entryCode: 'return input.n', config: resolved.config, permissions: [] };

await sleep(500);
const beforeMb = process.memoryUsage().rss / MB;
const pool = new SandboxPool({ settings, logger: pino({ level: 'silent' }) });
// Warm both threads (each has run executions), then leave the pool idle.
for (let i = 0; i < 50; i++) {
  await Promise.all([1, 2].map((n) => pool.run({ executionId: i * 2 + n, agent, input: { n } })));
}
await sleep(3000);
const idleMb = process.memoryUsage().rss / MB;
process.stdout.write(`${JSON.stringify({ beforeMb, idleMb, threads: pool.threadCount })}\n`);
await pool.destroy();

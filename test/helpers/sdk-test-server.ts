// A whole system for tests written in other languages (the Python SDK's): starts a
// TestSystem with an api, a scheduler and an executor node, prints one JSON line
// { baseUrl, adminKey, readOnlyKey }, and tears everything down when stdin closes.
import { startProcess, type RunningProcess } from './processes.ts';
import { TestSystem } from './test-system.ts';

const ENV = { SCHEDULER_SWEEP_INTERVAL_MS: '500', SANDBOX_POOL_SIZE: '2', AUDIT_RECORDER_LEASE_MS: '1000' };

const system = await TestSystem.create(process.env.SDK_TEST_LABEL ?? 'sdkpython');
let node: RunningProcess | undefined;
let stopping: Promise<void> | undefined;
/** Every caller (stdin end, stdin close, a signal) waits for the same teardown before exiting. */
async function stop(code: number): Promise<never> {
  stopping ??= (async () => {
    await node?.stop('SIGKILL').catch(() => undefined);
    await system.stop().catch(() => undefined);
  })();
  await stopping;
  process.exit(code);
}

try {
  const account = await system.createAccount('sdk');
  const readOnlyKey = await system.createKey(account.id, ['agents:read']);
  const api = await system.startApi(ENV);
  await system.startScheduler(ENV);
  node = await startProcess('executor-node/main.ts', system.env({ ...ENV, NODE_ID: 'sdk-node' }), 'executor node started');
  process.stdout.write(`${JSON.stringify({ baseUrl: api.baseUrl, adminKey: account.adminKey, readOnlyKey })}\n`);
} catch (err) {
  process.stderr.write(`sdk test server failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  await stop(1);
}

process.stdin.resume();
process.stdin.on('end', () => void stop(0));
process.stdin.on('close', () => void stop(0));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(0));

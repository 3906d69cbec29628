import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { defaultNodeId, loadConfig, NODE_ID_PATTERN } from '../../../shared/config.ts';
import { ConfigError } from '../../../shared/errors.ts';

describe('config: executor node settings', () => {
  it('defaults to one standard pool, a 15 s lock, a 30 s grace and a hostname-pid node id', () => {
    const { executor } = loadConfig({});
    assert.deepEqual(executor.pools, ['standard']);
    assert.equal(executor.lockMs, 15_000);
    assert.equal(executor.shutdownGraceMs, 30_000);
    assert.match(executor.nodeId, NODE_ID_PATTERN);
    assert.ok(executor.nodeId.endsWith(`-${process.pid}`));
  });

  it('runs two sandbox threads per core unless SANDBOX_POOL_SIZE says otherwise', () => {
    assert.equal(loadConfig({}).sandbox.poolSize, 2 * availableParallelism());
    assert.equal(loadConfig({ SANDBOX_POOL_SIZE: '3' }).sandbox.poolSize, 3);
    assert.throws(() => loadConfig({ SANDBOX_POOL_SIZE: '0' }), (err: unknown) => err instanceof ConfigError && err.message.startsWith('configuration error: SANDBOX_POOL_SIZE '));
  });

  it('reads the variables', () => {
    const { executor } = loadConfig({ NODE_ID: 'edge-1.eu', EXECUTOR_POOLS: 'tee, standard,tee', EXECUTOR_LOCK_MS: '2000', EXECUTOR_SHUTDOWN_GRACE_MS: '0' });
    assert.deepEqual(executor, { nodeId: 'edge-1.eu', pools: ['tee', 'standard'], poolsExplicit: true, lockMs: 2000, shutdownGraceMs: 0 });
  });

  it('sanitises a hostname into a node id that audit actors accept, keeping the pid', () => {
    assert.equal(defaultNodeId('ip-10-0-0-1.ec2.internal', 42), 'ip-10-0-0-1.ec2.internal-42');
    assert.equal(defaultNodeId('my host:été', 7), 'my-host--t--7');
    const long = defaultNodeId('x'.repeat(200), 123456);
    assert.match(long, NODE_ID_PATTERN);
    assert.ok(long.endsWith('-123456'));
    assert.equal(defaultNodeId('', 5), 'node-5');
  });

  for (const [variable, value] of [
    ['NODE_ID', 'has space'],
    ['NODE_ID', 'x'.repeat(65)],
    ['EXECUTOR_POOLS', 'standard,gpu'],
    ['EXECUTOR_POOLS', ' , '],
    ['EXECUTOR_LOCK_MS', '100'],
    ['EXECUTOR_SHUTDOWN_GRACE_MS', '-1'],
  ] as const) {
    it(`rejects ${variable}=${JSON.stringify(value)} naming the variable`, () => {
      assert.throws(() => loadConfig({ [variable]: value }), (err: unknown) => err instanceof ConfigError && err.message.startsWith(`configuration error: ${variable} `));
    });
  }
});

// A local anvil per suite on a free loopback port, plus the test-only RPC calls that steer
// it (mine a block, switch automining) and the funded dev keys tests sign with.
import { z } from 'zod';
import { EvmChain } from '../../shared/chain/evm-chain.ts';
import { JsonRpcClient } from '../../shared/chain/json-rpc-client.ts';
import { startLocalChain, type LocalChain, type LocalChainOptions } from '../../shared/local-infra/local-chain.ts';
import { freePort } from './free-port.ts';

/** anvil's dev accounts 0 and 1 (mnemonic "test test ... junk"); public, funded on every anvil. */
export const DEV_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
] as const;

export interface TestChain {
  readonly url: string;
  readonly port: number;
  readonly node: LocalChain;
  readonly chain: EvmChain;
  mine(blocks?: number): Promise<void>;
  setAutomine(on: boolean): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestChain(options: Omit<LocalChainOptions, 'port'> & { port?: number } = {}): Promise<TestChain> {
  const port = options.port ?? (await freePort());
  const node = await startLocalChain({ ...options, port });
  const rpc = new JsonRpcClient(node.url, 5000);
  return {
    url: node.url,
    port,
    node,
    chain: new EvmChain(rpc),
    async mine(blocks = 1) {
      for (let i = 0; i < blocks; i++) await rpc.call('evm_mine', [], z.unknown());
    },
    async setAutomine(on: boolean) {
      await rpc.call('evm_setAutomine', [on], z.unknown());
    },
    stop: () => node.close(),
  };
}

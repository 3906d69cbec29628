// The anchorer role: the chain client, the signer and the Anchorer loop, wired to the
// database and Redis the caller opened. Runs as its own process (anchorer/main.ts) or
// inside `npm start`.
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Config } from '../shared/config.ts';
import type { AnchorKey } from '../shared/chain/chain-settings.ts';
import { EvmChain } from '../shared/chain/evm-chain.ts';
import { JsonRpcClient } from '../shared/chain/json-rpc-client.ts';
import type { Logger } from '../shared/logger.ts';
import type { Closable } from '../shared/process/lifecycle.ts';
import { redisKeys } from '../shared/redis/keys.ts';
import { AnchorSigner } from './anchor-signer.ts';
import { Anchorer } from './anchorer.ts';

export interface AnchorerRoleDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly db: DataSource;
  readonly redis: Redis;
  readonly rpcUrl: string;
  readonly key: AnchorKey;
}

export async function startAnchorerRole({ config, log, db, redis, rpcUrl, key }: AnchorerRoleDeps): Promise<Closable> {
  const signer = new AnchorSigner(key.key);
  const chain = new EvmChain(new JsonRpcClient(rpcUrl, config.anchor.rpcTimeoutMs));
  if (key.devOnly) {
    log.warn({ address: signer.address, rpcUrl: chain.displayUrl }, "anchoring with anvil's public dev key: development only (set CHAIN_RPC_URL and ANCHOR_PRIVATE_KEY for production)");
  }
  const { confirmations, intervalMs, batchSize, leaseMs, pollMs, replaceAfterMs, maxFeeGwei } = config.anchor;
  const maxFeePerGasWei = BigInt(Math.round(maxFeeGwei * 1e9));
  const anchorer = new Anchorer({
    db,
    redis,
    keys: redisKeys(config.redis.prefix),
    chain,
    signer,
    log: log.child({ part: 'anchorer' }),
    options: { confirmations, intervalMs, batchSize, leaseMs, pollMs, replaceAfterMs, maxFeePerGasWei },
  });
  await anchorer.start();
  return anchorer;
}

// Which chain to anchor to and with which key. CHAIN_RPC_URL set: that chain, and
// ANCHOR_PRIVATE_KEY is required. Unset: the local anvil `npm start` runs on
// LOCAL_CHAIN_PORT, with anvil's public dev key unless ANCHOR_PRIVATE_KEY is given.
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { Secret } from '../secret.ts';
import { devAnchorKey } from './dev-account.ts';

export function localChainUrl(config: Pick<Config, 'anchor'>): string {
  return `http://127.0.0.1:${config.anchor.localChainPort}`;
}

/** CHAIN_RPC_URL, or else the local chain of `npm start`. */
export function effectiveChainRpcUrl(config: Pick<Config, 'anchor'>): string {
  return config.anchor.rpcUrl ?? localChainUrl(config);
}

/** For the standalone anchorer process, which never falls back to a local chain. */
export function requireChainRpcUrl(config: Pick<Config, 'anchor'>): string {
  if (!config.anchor.rpcUrl) throw new ConfigError('configuration error: CHAIN_RPC_URL is required for this process');
  return config.anchor.rpcUrl;
}

export interface AnchorKey {
  readonly key: Secret;
  /** anvil's published dev key: acceptable only against the local chain. */
  readonly devOnly: boolean;
}

export function anchorKey(config: Pick<Config, 'anchor'>): AnchorKey {
  if (config.anchor.privateKey) return { key: config.anchor.privateKey, devOnly: false };
  if (!config.anchor.rpcUrl) return { key: devAnchorKey(), devOnly: true };
  throw new ConfigError('configuration error: ANCHOR_PRIVATE_KEY is required when CHAIN_RPC_URL is set');
}

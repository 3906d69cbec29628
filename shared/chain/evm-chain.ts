// The few Ethereum JSON-RPC methods the anchorer and the proof verifier use, with each
// answer's shape checked. Quantities come back as bigint, hashes and addresses as lowercase
// 0x-hex, so comparisons are plain string equality.
import { z } from 'zod';
import { ChainRpcError, JsonRpcClient } from './json-rpc-client.ts';

const quantity = z
  .string()
  .regex(/^0x[0-9a-fA-F]{1,64}$/, 'must be a hex quantity')
  .transform((v) => BigInt(v));
const data = z
  .string()
  .regex(/^0x(?:[0-9a-fA-F]{2})*$/, 'must be hex bytes')
  .transform((v) => v.toLowerCase());
const hash32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 32-byte hash')
  .transform((v) => v.toLowerCase());
const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be an address')
  .transform((v) => v.toLowerCase());

const accessList = z.array(z.object({ address, storageKeys: z.array(hash32) }).loose());

const transactionSchema = z
  .object({
    hash: hash32,
    type: quantity.optional(),
    chainId: quantity.optional(),
    nonce: quantity,
    from: address,
    to: address.nullable(),
    value: quantity,
    input: data,
    gas: quantity,
    gasPrice: quantity.optional(),
    maxFeePerGas: quantity.optional(),
    maxPriorityFeePerGas: quantity.optional(),
    accessList: accessList.optional(),
    r: quantity,
    s: quantity,
    v: quantity.optional(),
    yParity: quantity.optional(),
    blockNumber: quantity.nullable().optional(),
    blockHash: hash32.nullable().optional(),
  })
  .loose();

export type ChainTransaction = z.output<typeof transactionSchema>;

const receiptSchema = z
  .object({
    transactionHash: hash32,
    /** Absent before Byzantium; every chain we anchor to has it. */
    status: quantity.optional(),
    blockNumber: quantity,
    blockHash: hash32,
    from: address,
    to: address.nullable(),
  })
  .loose();

export type ChainReceipt = z.output<typeof receiptSchema>;

const blockHeaderSchema = z.object({ number: quantity, hash: hash32.nullable(), baseFeePerGas: quantity.optional() }).loose();

/** What a transaction may pay per gas: EIP-1559 fields where the chain has a base fee. */
export type FeeQuote =
  | { readonly type: 2; readonly maxFeePerGas: bigint; readonly maxPriorityFeePerGas: bigint }
  | { readonly type: 0; readonly gasPrice: bigint };

const ONE_GWEI = 1_000_000_000n;

export class EvmChain {
  constructor(readonly rpc: JsonRpcClient) {}

  get displayUrl(): string {
    return this.rpc.displayUrl;
  }

  chainId(): Promise<bigint> {
    return this.rpc.call('eth_chainId', [], quantity);
  }

  blockNumber(): Promise<bigint> {
    return this.rpc.call('eth_blockNumber', [], quantity);
  }

  /** Transactions sent from `account`: mined ('latest') or including the mempool ('pending'). */
  transactionCount(account: string, tag: 'latest' | 'pending'): Promise<bigint> {
    return this.rpc.call('eth_getTransactionCount', [account, tag], quantity);
  }

  estimateGas(tx: { from: string; to: string; data: string }): Promise<bigint> {
    return this.rpc.call('eth_estimateGas', [{ ...tx, value: '0x0' }], quantity);
  }

  /** Returns the transaction hash the node computed. */
  sendRawTransaction(raw: string): Promise<string> {
    return this.rpc.call('eth_sendRawTransaction', [raw], hash32);
  }

  transaction(hash: string): Promise<ChainTransaction | null> {
    return this.rpc.call('eth_getTransactionByHash', [hash], transactionSchema.nullable());
  }

  receipt(hash: string): Promise<ChainReceipt | null> {
    return this.rpc.call('eth_getTransactionReceipt', [hash], receiptSchema.nullable());
  }

  async blockHash(number: bigint): Promise<string | null> {
    const block = await this.rpc.call('eth_getBlockByNumber', [`0x${number.toString(16)}`, false], blockHeaderSchema.nullable());
    return block?.hash ?? null;
  }

  /**
   * Fees for a transaction that should be mined within a few blocks: twice the latest base
   * fee plus the node's suggested tip (EIP-1559), or the node's gas price on a chain without
   * a base fee. Neither exceeds `cap`.
   */
  async feeQuote(cap: bigint): Promise<FeeQuote> {
    const latest = await this.rpc.call('eth_getBlockByNumber', ['latest', false], blockHeaderSchema);
    if (latest.baseFeePerGas === undefined) {
      const gasPrice = await this.rpc.call('eth_gasPrice', [], quantity);
      return { type: 0, gasPrice: min(gasPrice, cap) };
    }
    let tip = ONE_GWEI;
    try {
      tip = await this.rpc.call('eth_maxPriorityFeePerGas', [], quantity);
    } catch (err) {
      // Not every node implements it; one gwei is the usual default tip.
      if (!(err instanceof ChainRpcError)) throw err;
    }
    const maxFeePerGas = min(2n * latest.baseFeePerGas + tip, cap);
    return { type: 2, maxFeePerGas, maxPriorityFeePerGas: min(tip, maxFeePerGas) };
  }
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

// Signs anchor transactions with the anchor key. The key lives only inside the ethers
// Wallet held in a private field here; nothing else in the process sees it.
import { Transaction, Wallet } from 'ethers';
import type { FeeQuote } from '../shared/chain/evm-chain.ts';
import type { Secret } from '../shared/secret.ts';

export interface AnchorTxFields {
  readonly chainId: bigint;
  readonly nonce: bigint;
  readonly gasLimit: bigint;
  readonly fees: FeeQuote;
  /** 0x-prefixed calldata (anchor-payload.ts). */
  readonly data: string;
}

export interface SignedAnchorTx {
  readonly hash: string;
  readonly raw: string;
}

export class AnchorSigner {
  /** Lowercase 0x address; anchor transactions go from it to itself. */
  readonly address: string;
  readonly #wallet: Wallet;

  constructor(key: Secret) {
    this.#wallet = new Wallet(key.reveal());
    this.address = this.#wallet.address.toLowerCase();
  }

  async sign(fields: AnchorTxFields): Promise<SignedAnchorTx> {
    const common = {
      chainId: fields.chainId,
      nonce: Number(fields.nonce),
      gasLimit: fields.gasLimit,
      to: this.#wallet.address,
      value: 0n,
      data: fields.data,
    };
    const tx =
      fields.fees.type === 2
        ? { ...common, type: 2, maxFeePerGas: fields.fees.maxFeePerGas, maxPriorityFeePerGas: fields.fees.maxPriorityFeePerGas }
        : { ...common, type: 0, gasPrice: fields.fees.gasPrice };
    const raw = await this.#wallet.signTransaction(tx);
    return { raw, hash: Transaction.from(raw).hash!.toLowerCase() };
  }
}

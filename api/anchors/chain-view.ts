// The api's view of the chain head, for live confirmation counts. Cached for a second (a
// verify request must not cost a round trip each) and never fatal: an unreachable chain
// makes answers fall back to the confirmations recorded when the batch was confirmed.
import type { EvmChain } from '../../shared/chain/evm-chain.ts';
import type { ConfirmedBatchRow } from '../../shared/db/stores/anchor-store.ts';

const TTL_MS = 1000;

export interface Confirmations {
  readonly count: number;
  /** 'chain': counted now from the chain head; 'recorded': the minimum the anchorer waited for. */
  readonly source: 'chain' | 'recorded';
}

export class ChainView {
  private cached: { at: number; head: { chainId: bigint; blockNumber: bigint } | null } | null = null;
  private inFlight: Promise<{ chainId: bigint; blockNumber: bigint } | null> | null = null;

  constructor(private readonly chain: EvmChain) {}

  async confirmations(batch: ConfirmedBatchRow): Promise<Confirmations> {
    const head = await this.head();
    if (head && head.chainId.toString() === batch.chain_id) {
      const mined = BigInt(batch.block_number);
      return { count: head.blockNumber >= mined ? Number(head.blockNumber - mined + 1n) : 0, source: 'chain' };
    }
    return { count: batch.confirmations, source: 'recorded' };
  }

  private async head(): Promise<{ chainId: bigint; blockNumber: bigint } | null> {
    if (this.cached && Date.now() - this.cached.at < TTL_MS) return this.cached.head;
    this.inFlight ??= Promise.all([this.chain.chainId(), this.chain.blockNumber()])
      .then(([chainId, blockNumber]) => ({ chainId, blockNumber }))
      .catch(() => null)
      .then((head) => {
        this.cached = { at: Date.now(), head };
        this.inFlight = null;
        return head;
      });
    return this.inFlight;
  }
}

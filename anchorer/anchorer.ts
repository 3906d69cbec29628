// The anchorer: under a Redis lease, every interval it takes the audit records waiting in
// anchor_queue into one batch, puts the batch's Merkle root on chain in one transaction,
// waits for the confirmations and marks the batch confirmed.
//
// Crash safety: each step is written down before the next is taken. The plan (records, tree,
// root) commits in one transaction; each signed transaction is stored before it is broadcast;
// a restarted anchorer finds the pending batch, re-broadcasts the stored transaction
// (identical bytes, identical hash) and carries on from whatever the chain shows.
//
// One transaction per batch: every signed transaction of a batch uses the same nonce (a
// replacement only raises the fees), so at most one of them can ever be mined. A new nonce is
// taken only when the chain shows the old one used and none of ours mined with it; even then
// the new transaction carries the same batch, so it cannot make a second batch of any record.
//
// Chain unreachable: the tick fails before anything is planned or while waiting; it is
// retried with exponential backoff, counted in the status the api and `tz anchor status`
// show, and records simply wait in the queue.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { encodeAnchorPayload } from '../shared/chain/anchor-payload.ts';
import type { AnchorerStatus } from '../shared/chain/anchorer-status.ts';
import type { ChainReceipt, EvmChain, FeeQuote } from '../shared/chain/evm-chain.ts';
import { ChainRpcError, ChainUnavailableError } from '../shared/chain/json-rpc-client.ts';
import type { Logger } from '../shared/logger.ts';
import type { Closable } from '../shared/process/lifecycle.ts';
import type { RedisKeys } from '../shared/redis/keys.ts';
import { RedisLease } from '../shared/redis/lease.ts';
import { AnchorBatches, type AnchorAttempt, type PendingBatch } from './anchor-batches.ts';
import type { AnchorSigner } from './anchor-signer.ts';

export interface AnchorerOptions {
  readonly intervalMs: number;
  readonly batchSize: number;
  readonly confirmations: number;
  readonly leaseMs: number;
  readonly pollMs: number;
  readonly replaceAfterMs: number;
  readonly maxFeePerGasWei: bigint;
}

export interface AnchorerDeps {
  readonly db: DataSource;
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly chain: EvmChain;
  readonly signer: AnchorSigner;
  readonly log: Logger;
  readonly options: AnchorerOptions;
}

/** Mempools drop transactions; a waiting one is sent again this often (same bytes). */
const REBROADCAST_MS = 30_000;
const MAX_BACKOFF_MS = 60_000;
/** Replacement fees are at least this much higher than the replaced ones (nodes want +10%). */
const FEE_BUMP_PERCENT = 125n;
/** Broadcast answers that mean "the node has it or had it already": not failures. */
const ALREADY_KNOWN = /already known|already imported|known transaction|nonce too low|underpriced|already exists/i;

class LeaseLost extends Error {}

export class Anchorer implements Closable {
  readonly name = 'anchorer';
  readonly holder = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly lease: RedisLease;
  private readonly batches: AnchorBatches;
  private readonly stop = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private leaseTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();
  /** When the lease was last confirmed ours; past one lease period without that, we stop. */
  private renewedAt = 0;
  private status: AnchorerStatus;

  constructor(private readonly deps: AnchorerDeps) {
    this.lease = new RedisLease(deps.redis, deps.keys.anchorerLease, this.holder, deps.options.leaseMs);
    this.batches = new AnchorBatches(deps.db);
    this.status = {
      holder: this.holder,
      rpc_url: deps.chain.displayUrl,
      chain_id: null,
      anchor_address: deps.signer.address,
      chain_reachable: false,
      chain_errors_total: 0,
      errors_total: 0,
      consecutive_failures: 0,
      batches_confirmed_total: 0,
      last_error: null,
      last_error_at: null,
      last_success_at: null,
      next_retry_at: null,
      updated_at: new Date().toISOString(),
    };
  }

  async start(): Promise<void> {
    await this.keepLease();
    this.leaseTimer = setInterval(() => void this.keepLease(), Math.max(100, Math.floor(this.deps.options.leaseMs / 3)));
    this.loop = this.run();
    this.deps.log.info({ holder: this.holder, address: this.deps.signer.address, rpcUrl: this.deps.chain.displayUrl }, 'anchorer started');
  }

  async close(): Promise<void> {
    this.stop.abort();
    clearInterval(this.leaseTimer);
    await this.loop;
    await this.renewing;
    await this.lease.release().catch(() => undefined);
  }

  /** Takes or renews the lease (only this timer touches it) and refreshes the published status. */
  private keepLease(): Promise<void> {
    this.renewing = this.renewing.then(async () => {
      if (this.stop.signal.aborted) return;
      const { log } = this.deps;
      try {
        const wasHeld = this.lease.isHeld;
        const held = await this.lease.acquireOrRenew();
        if (held) this.renewedAt = Date.now();
        if (held && !wasHeld) log.info({ holder: this.holder }, 'anchorer lease acquired; anchoring');
        if (!held && wasHeld) log.warn({ holder: this.holder }, 'anchorer lease lost; standing by');
        if (held) await this.publishStatus();
      } catch (err) {
        log.warn({ err }, 'anchorer lease renewal failed');
      }
    });
    return this.renewing;
  }

  private async publishStatus(): Promise<void> {
    if (!this.lease.isHeld) return;
    this.status = { ...this.status, updated_at: new Date().toISOString() };
    // Expires when no active anchorer refreshes it: readers then know none is running.
    await this.deps.redis.set(this.deps.keys.anchorerStatus, JSON.stringify(this.status), 'PX', 3 * this.deps.options.leaseMs);
  }

  private async run(): Promise<void> {
    const { options, log } = this.deps;
    while (!this.stop.signal.aborted) {
      if (!this.leading()) {
        await this.pause(Math.min(500, Math.floor(options.leaseMs / 3)));
        continue;
      }
      const started = Date.now();
      try {
        const more = await this.tick();
        this.succeeded();
        if (!more) await this.pause(started + options.intervalMs - Date.now());
      } catch (err) {
        if (this.stop.signal.aborted) break;
        if (err instanceof LeaseLost) continue;
        const retryInMs = this.failed(err);
        log.warn({ err: describe(err), failures: this.status.consecutive_failures, retryInMs }, 'anchoring failed; records wait, will retry');
        await this.publishStatus().catch(() => undefined);
        await this.pause(retryInMs);
      }
    }
  }

  /** One round: finish the pending batch, or plan and anchor a new one. True if more records may wait. */
  private async tick(): Promise<boolean> {
    const { chain, options, signer, log } = this.deps;
    const chainId = await chain.chainId();
    this.status = { ...this.status, chain_id: chainId.toString(), chain_reachable: true };
    let batch = await this.batches.pending();
    if (!batch) {
      if (!(await this.batches.hasWaitingRecords())) return false;
      this.assertLeader();
      batch = await this.batches.plan({ maxRecords: options.batchSize, chainId, anchorAddress: signer.address, confirmations: options.confirmations });
      if (!batch) return false;
      log.info({ batchId: batch.id, records: batch.recordCount, root: batch.merkleRoot, firstRecordId: String(batch.firstRecordId), lastRecordId: String(batch.lastRecordId) }, 'anchor batch planned');
    } else if (batch.attempts.length > 0) {
      log.info({ batchId: batch.id, attempts: batch.attempts.length }, 'resuming pending anchor batch');
    }
    if (batch.chainId !== chainId) {
      throw new Error(`the pending batch ${batch.id} was planned for chain ${batch.chainId} but CHAIN_RPC_URL serves chain ${chainId}; point it back until the batch is confirmed`);
    }
    if (batch.anchorAddress !== signer.address) {
      throw new Error(`the pending batch ${batch.id} is being anchored by ${batch.anchorAddress}; finish it with that key before rotating (docs/operations.md)`);
    }
    await this.confirmBatch(batch);
    return batch.recordCount >= options.batchSize;
  }

  /** Drives one batch to a confirmed transaction, from whatever state it was left in. */
  private async confirmBatch(initial: PendingBatch): Promise<void> {
    const { chain, options, log } = this.deps;
    let batch = initial;
    let lastBroadcast = 0;
    let lastReplacementCheck = 0;
    for (;;) {
      this.assertLeader();
      // The nonce first, the receipts second: a transaction of ours mined in between then
      // shows up as a receipt, never as a nonce that someone else used.
      const minedNonce = await chain.transactionCount(batch.anchorAddress, 'latest');
      const mined = await this.findMined(batch);
      if (mined) {
        const head = await chain.blockNumber();
        if (head - mined.receipt.blockNumber + 1n >= BigInt(batch.confirmations)) {
          // Read again: a reorganisation between the two reads would have moved it.
          const again = await chain.receipt(mined.attempt.txHash);
          if (again?.blockHash === mined.receipt.blockHash && again.status === 1n) {
            const confirmed = await this.batches.confirm(batch, {
              txHash: mined.attempt.txHash,
              nonce: mined.attempt.nonce,
              blockNumber: again.blockNumber,
              blockHash: again.blockHash,
            });
            if (confirmed) {
              this.status = { ...this.status, batches_confirmed_total: this.status.batches_confirmed_total + 1 };
              log.info(
                { batchId: batch.id, txHash: mined.attempt.txHash, blockNumber: String(again.blockNumber), records: batch.recordCount, root: batch.merkleRoot },
                'anchor batch confirmed',
              );
            }
            return;
          }
        }
        await this.pause(options.pollMs);
        continue;
      }
      const current = batch.attempts.at(-1);
      if (!current || minedNonce > current.nonce) {
        if (current) log.warn({ batchId: batch.id, nonce: String(current.nonce) }, 'the anchor nonce was used by another transaction; signing the batch again with a new nonce');
        batch = await this.addAttempt(batch, null);
        lastBroadcast = 0;
        continue;
      }
      const now = Date.now();
      if (now - current.createdAt.getTime() >= options.replaceAfterMs && now - lastReplacementCheck >= options.replaceAfterMs) {
        lastReplacementCheck = now;
        const replaced = await this.addAttempt(batch, current);
        if (replaced !== batch) {
          batch = replaced;
          lastBroadcast = 0;
          continue;
        }
      }
      if (now - lastBroadcast >= REBROADCAST_MS) {
        await this.broadcast(batch, current);
        lastBroadcast = now;
      }
      await this.pause(options.pollMs);
    }
  }

  private async findMined(batch: PendingBatch): Promise<{ attempt: AnchorAttempt; receipt: ChainReceipt } | null> {
    for (const attempt of batch.attempts) {
      const receipt = await this.deps.chain.receipt(attempt.txHash);
      if (!receipt) continue;
      // A reverted transaction used its nonce but anchored nothing; a new one follows.
      if (receipt.status !== 1n) {
        this.deps.log.error({ batchId: batch.id, txHash: attempt.txHash }, 'anchor transaction reverted');
        continue;
      }
      return { attempt, receipt };
    }
    return null;
  }

  /**
   * Signs and stores a new transaction for the batch, then broadcasts it. `replacing` set:
   * same nonce, fees raised (skipped when the fee cap leaves no room). Returns the batch as
   * now stored (unchanged if nothing was added).
   */
  private async addAttempt(batch: PendingBatch, replacing: AnchorAttempt | null): Promise<PendingBatch> {
    const { chain, signer, options, log } = this.deps;
    const data = encodeAnchorPayload({
      merkleRoot: batch.merkleRoot,
      firstRecordId: batch.firstRecordId,
      lastRecordId: batch.lastRecordId,
      recordCount: BigInt(batch.recordCount),
    });
    const outcome = await this.batches
      .addAttempt(batch, async () => {
        const quote = await chain.feeQuote(options.maxFeePerGasWei);
        let nonce: bigint;
        let fees: FeeQuote = quote;
        if (replacing) {
          nonce = replacing.nonce;
          fees = raiseFees(replacing.fees, quote, options.maxFeePerGasWei);
          // Throwing rolls the attempt's transaction back: nothing is stored.
          if (!higherFees(fees, replacing.fees)) throw new FeeCapReached();
        } else {
          const [pending, latest] = await Promise.all([chain.transactionCount(signer.address, 'pending'), chain.transactionCount(signer.address, 'latest')]);
          nonce = pending > latest ? pending : latest;
        }
        const estimate = await chain.estimateGas({ from: signer.address, to: signer.address, data });
        const signed = await signer.sign({ chainId: batch.chainId, nonce, gasLimit: estimate + estimate / 5n, fees, data });
        return { txHash: signed.hash, nonce, raw: signed.raw, fees };
      })
      .catch((err: unknown) => {
        if (err instanceof FeeCapReached) return 'fee_cap' as const;
        throw err;
      });
    if (outcome === 'fee_cap') {
      log.warn({ batchId: batch.id, maxFeeGwei: Number(options.maxFeePerGasWei) / 1e9 }, 'anchor transaction not mined yet and its fees are at ANCHOR_MAX_FEE_GWEI: not replacing it');
      return batch;
    }
    const reloaded = await this.batches.reload(batch);
    if (!reloaded) throw new LeaseLost(); // confirmed by another anchorer meanwhile: nothing left to do here
    if (outcome === 'stale') return reloaded;
    const attempt = reloaded.attempts.at(-1)!;
    log.info(
      { batchId: batch.id, txHash: attempt.txHash, nonce: String(attempt.nonce), replacing: replacing?.txHash },
      replacing ? 'anchor transaction replaced with higher fees' : 'anchor transaction signed',
    );
    await this.broadcast(reloaded, attempt);
    return reloaded;
  }

  private async broadcast(batch: PendingBatch, attempt: AnchorAttempt): Promise<void> {
    try {
      await this.deps.chain.sendRawTransaction(attempt.raw);
      this.deps.log.info({ batchId: batch.id, txHash: attempt.txHash, nonce: String(attempt.nonce) }, 'anchor transaction broadcast');
    } catch (err) {
      if (err instanceof ChainRpcError && ALREADY_KNOWN.test(err.rpcMessage)) return;
      throw err;
    }
  }

  /**
   * Whether we hold the lease for sure: held at the last renewal, and that renewal is less
   * than a lease period old (when Redis stops answering, the lease may have expired and
   * another anchorer may have it).
   */
  private leading(): boolean {
    return this.lease.isHeld && Date.now() - this.renewedAt < this.deps.options.leaseMs;
  }

  private assertLeader(): void {
    if (this.stop.signal.aborted || !this.leading()) throw new LeaseLost();
  }

  private succeeded(): void {
    if (this.status.consecutive_failures > 0) this.deps.log.info({ after: this.status.consecutive_failures }, 'anchoring recovered');
    this.status = { ...this.status, consecutive_failures: 0, last_success_at: new Date().toISOString(), next_retry_at: null };
  }

  /** Counts the failure and returns the backoff before the next try. */
  private failed(err: unknown): number {
    const unreachable = err instanceof ChainUnavailableError;
    const chainError = unreachable || err instanceof ChainRpcError;
    const failures = this.status.consecutive_failures + 1;
    const cap = Math.min(MAX_BACKOFF_MS, Math.max(this.deps.options.intervalMs, 2000));
    const retryInMs = Math.min(cap, 500 * 2 ** Math.min(failures - 1, 10));
    const now = Date.now();
    this.status = {
      ...this.status,
      chain_reachable: unreachable ? false : this.status.chain_reachable,
      chain_errors_total: this.status.chain_errors_total + (chainError ? 1 : 0),
      errors_total: this.status.errors_total + 1,
      consecutive_failures: failures,
      last_error: describe(err),
      last_error_at: new Date(now).toISOString(),
      next_retry_at: new Date(now + retryInMs).toISOString(),
    };
    return retryInMs;
  }

  /** Sleeps, waking early when the anchorer is closed. */
  private async pause(ms: number): Promise<void> {
    if (ms <= 0) return;
    await sleep(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }
}

class FeeCapReached extends Error {}

/** Fees of a replacement: the current quote, but at least FEE_BUMP_PERCENT of the old ones; never above the cap. */
function raiseFees(old: FeeQuote, quote: FeeQuote, cap: bigint): FeeQuote {
  const bump = (v: bigint) => (v * FEE_BUMP_PERCENT) / 100n + 1n;
  const capped = (v: bigint) => (v < cap ? v : cap);
  if (old.type === 2 && quote.type === 2) {
    const maxFeePerGas = capped(max(quote.maxFeePerGas, bump(old.maxFeePerGas)));
    return { type: 2, maxFeePerGas, maxPriorityFeePerGas: capped(min(maxFeePerGas, max(quote.maxPriorityFeePerGas, bump(old.maxPriorityFeePerGas)))) };
  }
  if (old.type === 0 && quote.type === 0) return { type: 0, gasPrice: capped(max(quote.gasPrice, bump(old.gasPrice))) };
  return quote;
}

/** Whether `next` pays more than `previous`, as a replacement must. */
function higherFees(next: FeeQuote, previous: FeeQuote): boolean {
  if (next.type === 2 && previous.type === 2) return next.maxFeePerGas > previous.maxFeePerGas && next.maxPriorityFeePerGas > previous.maxPriorityFeePerGas;
  if (next.type === 0 && previous.type === 0) return next.gasPrice > previous.gasPrice;
  return true;
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** One line for logs and the status: error messages here never carry the RPC URL's credentials. */
function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

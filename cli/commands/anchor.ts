// `tz anchor status`: where anchoring stands, for an operator: the chain (RPC URL with its
// credentials masked), the active anchorer's health, the last confirmed and the pending
// batch, and how many records wait.
import { effectiveChainRpcUrl } from '../../shared/chain/chain-settings.ts';
import { parseAnchorerStatus, type AnchorerStatus } from '../../shared/chain/anchorer-status.ts';
import { EvmChain } from '../../shared/chain/evm-chain.ts';
import { JsonRpcClient } from '../../shared/chain/json-rpc-client.ts';
import { AnchorStore } from '../../shared/db/stores/anchor-store.ts';
import { redisKeys } from '../../shared/redis/keys.ts';
import { withDatabase, withRedis } from '../cli-resources.ts';
import { parseOptions, UsageError, type CliCommand } from '../command.ts';

export const anchorStatusCommand: CliCommand = {
  words: ['anchor', 'status'],
  usage: 'anchor status',
  summary: 'Chain, anchorer health, last and pending anchor batch, records waiting',
  async run(args, io) {
    const { positionals } = parseOptions(args, {});
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const config = io.config();
    const chain = new EvmChain(new JsonRpcClient(effectiveChainRpcUrl(config), 3000));
    const [chainId, db, anchorer] = await Promise.all([
      chain.chainId().then(
        (id) => ({ ok: true as const, id }),
        (err: Error) => ({ ok: false as const, error: err.message }),
      ),
      withDatabase(config, async (conn) => {
        const store = new AnchorStore(conn);
        const [last, pending, waiting] = await Promise.all([store.lastConfirmed(), store.pending(), store.waitingCount()]);
        const attempts = pending
          ? ((await conn.query(`SELECT count(*)::int AS n FROM anchor_transactions WHERE batch_id = $1`, [pending.id])) as { n: number }[])[0]!.n
          : 0;
        return { last, pending, waiting, attempts };
      }),
      withRedis(config, async (redis) => parseAnchorerStatus(await redis.get(redisKeys(config.redis.prefix).anchorerStatus))).catch(() => null),
    ]);
    const mode = config.anchor.rpcUrl ? '' : ' (CHAIN_RPC_URL unset: the local chain of `npm start`)';
    io.out(`chain:           ${chainId.ok ? `id ${chainId.id}` : `UNREACHABLE (${chainId.error})`} at ${chain.displayUrl}${mode}`);
    io.out(`anchorer:        ${describeAnchorer(anchorer)}`);
    const { last, pending, waiting, attempts } = db;
    io.out(
      `last batch:      ${
        last
          ? `#${last.id}: ${last.record_count} record(s), ids ${last.first_record_id}..${last.last_record_id}, root ${last.merkle_root}, ` +
            `tx ${last.tx_hash} in block ${last.block_number} of chain ${last.chain_id}, confirmed ${last.confirmed_at.toISOString()}`
          : 'none yet'
      }`,
    );
    io.out(
      `pending batch:   ${
        pending ? `#${pending.id}: ${pending.record_count} record(s), root ${pending.merkle_root}, ${attempts} transaction(s) signed, planned ${pending.created_at.toISOString()}` : 'none'
      }`,
    );
    io.out(`records waiting: ${waiting}`);
    return 0;
  },
};

function describeAnchorer(status: AnchorerStatus | null): string {
  if (!status) return 'none reporting (no anchorer holds the lease, or Redis is unreachable)';
  const health = status.chain_reachable ? 'chain reachable' : 'CHAIN UNREACHABLE';
  const error = status.last_error ? `; last error at ${status.last_error_at}: ${status.last_error}` : '';
  return (
    `${status.holder}, anchor address ${status.anchor_address}, ${health}, ${status.batches_confirmed_total} batch(es) confirmed, ` +
    `${status.chain_errors_total} chain error(s), ${status.consecutive_failures} consecutive failure(s)${error}`
  );
}

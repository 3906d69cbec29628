// `tz audit verify --account NAME`: re-derives an account's whole audit chain.
// `tz audit verify-proof FILE --rpc URL`: checks one anchored record's proof file against the chain.
import { open } from 'node:fs/promises';
import { checkProofOffline } from '../../shared/audit/anchor-proof.ts';
import { checkAnchorOnChain } from '../../shared/chain/anchor-check.ts';
import { EvmChain } from '../../shared/chain/evm-chain.ts';
import { JsonRpcClient } from '../../shared/chain/json-rpc-client.ts';
import { AccountStore } from '../../shared/db/stores/account-store.ts';
import { AuditStore } from '../../shared/db/stores/audit-store.ts';
import { withDatabase } from '../cli-resources.ts';
import { parseOptions, UsageError, type CliCommand } from '../command.ts';

export const auditVerifyCommand: CliCommand = {
  words: ['audit', 'verify'],
  usage: 'audit verify --account NAME',
  summary: 'Re-derive every hash of an account\'s audit chain; names the first broken record',
  async run(args, io) {
    const { values, positionals } = parseOptions(args, { account: { type: 'string' } });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (typeof values.account !== 'string') throw new UsageError('--account is required');
    const status = await withDatabase(io.config(), async (db) => {
      const account = await new AccountStore(db).requireByName(values.account as string);
      return new AuditStore(db).verifyChain(account.id);
    });
    if (status.valid) {
      io.out(`chain valid: ${status.checked} record(s) of account ${values.account} re-derived`);
      return 0;
    }
    const at = status.broken_at;
    io.out(
      `chain BROKEN at sequence ${at.sequence}${at.record_id === null ? '' : ` (record ${at.record_id})`}: ${at.reason.replace(/_/g, ' ')}; ${status.checked} record(s) before it verified`,
    );
    return 1;
  },
};

const MAX_PROOF_FILE_BYTES = 1024 * 1024;

/**
 * `tz audit verify-proof FILE --rpc URL`: checks a proof file with SHA-256 and the chain
 * alone, as an auditor would; no database, no configuration. Exit 0 valid, 1 invalid.
 */
export const auditVerifyProofCommand: CliCommand = {
  words: ['audit', 'verify-proof'],
  usage: 'audit verify-proof FILE --rpc URL [--min-confirmations N] [--anchor-address 0x...]',
  summary: 'Check a record\'s proof file against the chain: record hash, inclusion proof, anchor transaction',
  async run(args, io) {
    const { values, positionals } = parseOptions(args, {
      rpc: { type: 'string' },
      'min-confirmations': { type: 'string' },
      'anchor-address': { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one proof FILE');
    if (typeof values.rpc !== 'string') throw new UsageError('--rpc URL is required (an Ethereum JSON-RPC endpoint of the proof\'s chain)');
    if (!/^https?:\/\//.test(values.rpc) || !URL.canParse(values.rpc)) throw new UsageError('--rpc must be an http:// or https:// URL');
    const minConfirmations = values['min-confirmations'] === undefined ? undefined : Number(values['min-confirmations']);
    if (minConfirmations !== undefined && (!Number.isSafeInteger(minConfirmations) || minConfirmations < 1)) {
      throw new UsageError('--min-confirmations must be a positive integer');
    }
    const expectedSender = values['anchor-address'];
    if (expectedSender !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(expectedSender)) throw new UsageError('--anchor-address must be a 0x address');
    const invalid = (reason: string, detail: string) => {
      io.out(`INVALID (${reason}): ${detail}`);
      return 1;
    };

    let text: string;
    try {
      const file = await open(positionals[0]!, 'r');
      try {
        if ((await file.stat()).size > MAX_PROOF_FILE_BYTES) return invalid('not_a_proof_file', `larger than ${MAX_PROOF_FILE_BYTES} bytes`);
        text = await file.readFile('utf8');
      } finally {
        await file.close();
      }
    } catch (err) {
      throw new Error(`cannot read ${positionals[0]}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return invalid('not_a_proof_file', 'not JSON');
    }
    const offline = checkProofOffline(json);
    if (!offline.valid) return invalid(offline.reason, offline.detail);
    const { record, merkle, anchor } = offline.file;
    io.out(`record ${record.id} (account ${record.account_id}, sequence ${record.sequence}): hash ${record.hash} re-derived from its fields`);
    io.out(`inclusion proof: leaf ${merkle.leaf_index} of ${merkle.tree_size} leads to root ${merkle.root}`);

    const chain = new EvmChain(new JsonRpcClient(values.rpc, 15_000));
    let onChain;
    try {
      onChain = await checkAnchorOnChain(chain, offline.file, { minConfirmations, expectedSender });
    } catch (err) {
      // Fail closed: a proof that could not be checked is not reported valid.
      return invalid('chain_unreachable', (err as Error).message);
    }
    if (!onChain.valid) return invalid(onChain.reason, onChain.detail);
    io.out(
      `anchored: transaction ${anchor.tx_hash} on chain ${anchor.chain_id}, block ${onChain.blockNumber}, sent by ${onChain.sender}, ` +
        `carries root ${merkle.root} for records ${anchor.first_record_id}..${anchor.last_record_id} (${anchor.record_count}); ${onChain.confirmations} confirmation(s)`,
    );
    io.out('VALID');
    return 0;
  },
};

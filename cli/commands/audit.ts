// `tz audit verify --account NAME`: re-derives an account's whole audit chain.
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

// Every `tz` subcommand, in the order `tz --help` lists them.
import type { CliCommand } from '../command.ts';
import { accountsCreateCommand } from './accounts.ts';
import { auditVerifyCommand, auditVerifyProofCommand } from './audit.ts';
import { anchorStatusCommand } from './anchor.ts';
import { keysCreateCommand, keysListCommand, keysRevokeCommand } from './keys.ts';
import { migrateCommand } from './migrate.ts';
import { limitsSetCommand, limitsShowCommand } from './limits.ts';
import { haltCommand, resumeCommand } from './halt.ts';
import { sandboxRunCommand } from './sandbox.ts';

export const cliCommands: readonly CliCommand[] = [
  migrateCommand,
  accountsCreateCommand,
  keysCreateCommand,
  keysListCommand,
  keysRevokeCommand,
  auditVerifyCommand,
  auditVerifyProofCommand,
  anchorStatusCommand,
  limitsSetCommand,
  limitsShowCommand,
  haltCommand,
  resumeCommand,
  sandboxRunCommand,
];

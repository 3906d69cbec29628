// Every `tz` subcommand, in the order `tz --help` lists them.
import type { CliCommand } from '../command.ts';
import { accountsCreateCommand } from './accounts.ts';
import { auditVerifyCommand } from './audit.ts';
import { keysCreateCommand, keysListCommand, keysRevokeCommand } from './keys.ts';
import { migrateCommand } from './migrate.ts';
import { sandboxRunCommand } from './sandbox.ts';

export const cliCommands: readonly CliCommand[] = [
  migrateCommand,
  accountsCreateCommand,
  keysCreateCommand,
  keysListCommand,
  keysRevokeCommand,
  auditVerifyCommand,
  sandboxRunCommand,
];

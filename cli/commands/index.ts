// Every `tz` subcommand, in the order `tz --help` lists them.
import type { CliCommand } from '../command.ts';

export const cliCommands: readonly CliCommand[] = [];

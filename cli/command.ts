// The shape of one `tz` subcommand. Commands print results on stdout and
// diagnostics on stderr, and return the process exit code.
import { userInfo } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../shared/config.ts';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Parsed on first use, so `tz --help` works with a broken environment. */
  config(): Config;
}

export interface CliCommand {
  /** Words that select the command, e.g. ['keys', 'create']. */
  readonly words: readonly string[];
  readonly usage: string;
  readonly summary: string;
  run(args: string[], io: CliIo): Promise<number>;
}

/** Raised for a wrong invocation; main prints the message and the usage, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function processIo(env: NodeJS.ProcessEnv = process.env): CliIo {
  let cached: Config | undefined;
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    config: () => (cached ??= loadConfig(env)),
  };
}

/** node:util parseArgs with strict options; a bad flag becomes a UsageError. */
export function parseOptions<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The audit actor for changes made through the CLI: `cli:<os user>`. */
export function cliActor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username.replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, 64) || 'unknown';
  } catch {
    // no passwd entry (some containers): keep "unknown"
  }
  return `cli:${user}`;
}

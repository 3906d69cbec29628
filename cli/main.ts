// `tz` entry point: picks the subcommand by its leading words and runs it.
import { AppError, ConfigError } from '../shared/errors.ts';
import { processIo, UsageError, type CliCommand } from './command.ts';
import { cliCommands } from './commands/index.ts';

function findCommand(argv: string[]): { command: CliCommand; rest: string[] } | undefined {
  const matches = cliCommands
    .filter((c) => c.words.every((w, i) => argv[i] === w))
    .sort((a, b) => b.words.length - a.words.length);
  const command = matches[0];
  return command ? { command, rest: argv.slice(command.words.length) } : undefined;
}

function help(): string {
  const width = Math.max(...cliCommands.map((c) => c.usage.length));
  return ['usage: tz <command> [options]', '', ...cliCommands.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const io = processIo();
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    io.out(help());
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(argv);
  if (!found) {
    io.err(`tz: unknown command "${argv.join(' ')}"`);
    io.err(help());
    return 2;
  }
  try {
    return await found.command.run(found.rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`tz: ${err.message}`);
      io.err(`usage: tz ${found.command.usage}`);
      return 2;
    }
    if (err instanceof ConfigError || err instanceof AppError) {
      io.err(`tz: ${err.message}`);
      return 1;
    }
    io.err(`tz: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));

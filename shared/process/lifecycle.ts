// Orderly shutdown: parts close in reverse start order on SIGTERM/SIGINT.
import type { Logger } from '../logger.ts';

export interface Closable {
  readonly name: string;
  close(): Promise<void>;
}

export async function closeAll(parts: readonly Closable[], log: Logger): Promise<void> {
  for (const part of [...parts].reverse()) {
    try {
      await part.close();
    } catch (err) {
      log.error({ err, part: part.name }, 'error while closing');
    }
  }
}

/** A process that has not closed its parts by then exits anyway, saying so. */
export const SHUTDOWN_DEADLINE_MS = 60_000;

export function stopOnSignal(log: Logger, parts: readonly Closable[], deadlineMs = SHUTDOWN_DEADLINE_MS): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    setTimeout(() => {
      log.error({ deadlineMs }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, deadlineMs).unref();
    void closeAll(parts, log).then(() => {
      log.info('stopped');
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** Prints a start failure as one line and exits; used by every main.ts. */
export function failStart(err: unknown, log?: Logger): never {
  const message = err instanceof Error ? err.message : String(err);
  if (log) log.fatal({ err }, 'failed to start');
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

// Starts product processes (api, scheduler, ...) as real child processes and waits for
// the log line that says they are ready. Output is kept for failure diagnosis.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunningProcess {
  /** The entry file it runs, relative to the project root (api/main.ts, ...). */
  readonly entry: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Fields of the first JSON log line whose msg matched the ready pattern. */
  readonly ready: Record<string, unknown>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startProcess(
  entry: string,
  env: Record<string, string>,
  readyMsg: string | RegExp,
  timeoutMs = 30_000,
): Promise<RunningProcess> {
  const child = spawn(process.execPath, [...(env.TZ_NODE_ARGS ? env.TZ_NODE_ARGS.split(' ') : []), '--import', 'tsx', path.join(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} not ready within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          const msg = String(parsed.msg ?? '');
          if (typeof readyMsg === 'string' ? msg === readyMsg : readyMsg.test(msg)) {
            clearTimeout(timer);
            resolve(parsed);
            return;
          }
        } catch {
          // partial line; wait for more
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code} before ready:\n${output}`));
    });
  });
  return {
    entry,
    child,
    ready,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      // A process that does not stop within 20 s is killed, so no test leaves one behind.
      const force = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const [code] = (await once(child, 'exit')) as [number | null];
      clearTimeout(force);
      return code;
    },
  };
}

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `tz ...` (bin/tz.js) to completion. */
export async function runTz(args: string[], env: Record<string, string>, input?: string): Promise<CommandResult> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/tz.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(input ?? '');
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

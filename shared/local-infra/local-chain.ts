// A local EVM chain for development and tests: anvil from the npm registry. Its binary
// ships in a per-platform package (@foundry-rs/anvil-<os>-<arch>), so installing it runs
// no script and downloads nothing; this module starts that binary directly on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { JsonRpcClient } from '../chain/json-rpc-client.ts';
import type { Logger } from '../logger.ts';
import type { Closable } from '../process/lifecycle.ts';

const ARCH: Partial<Record<string, string>> = { x64: 'amd64', arm64: 'arm64' };
const READY_TIMEOUT_MS = 20_000;

export interface LocalChainOptions {
  readonly port: number;
  /** Seconds between blocks; undefined mines one block per transaction (automine). */
  readonly blockTimeS?: number;
  /** Mine only on request (evm_mine): transactions wait in the mempool. For tests. */
  readonly noMining?: boolean;
  /** Where anvil keeps its state across restarts; undefined keeps it in memory. */
  readonly stateFile?: string;
  readonly log?: Logger;
}

export interface LocalChain extends Closable {
  readonly url: string;
  readonly pid: number;
  /** Stops anvil as a crash would (SIGKILL): for chain-outage tests. */
  kill(): Promise<void>;
}

/** Path of the anvil binary of this platform's package; throws naming the package when absent. */
export function anvilBinary(): string {
  const arch = ARCH[process.arch];
  const os = process.platform === 'win32' ? 'win32' : process.platform;
  const pkg = `@foundry-rs/anvil-${os}-${arch ?? process.arch}`;
  const require = createRequire(import.meta.url);
  try {
    return require.resolve(`${pkg}/bin/${process.platform === 'win32' ? 'anvil.exe' : 'anvil'}`);
  } catch {
    throw new Error(`the local chain needs ${pkg} (installed with @foundry-rs/anvil by npm install); this platform may not be supported`);
  }
}

export async function startLocalChain(options: LocalChainOptions): Promise<LocalChain> {
  const args = ['--host', '127.0.0.1', '--port', String(options.port), '--silent'];
  if (options.noMining) args.push('--no-mining');
  else if (options.blockTimeS !== undefined) args.push('--block-time', String(options.blockTimeS));
  if (options.stateFile) {
    await mkdir(path.dirname(options.stateFile), { recursive: true });
    // --state loads the file at start and writes it at exit; the interval bounds what a
    // crash of anvil itself loses.
    args.push('--state', options.stateFile, '--state-interval', '5');
  }
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitUntilAnswering(child, url, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  options.log?.info({ url, stateFile: options.stateFile, blockTimeS: options.blockTimeS }, 'local chain (anvil) listening');
  return {
    name: 'local-chain',
    url,
    pid: child.pid!,
    close: () => stop(child, 'SIGINT'),
    kill: () => stop(child, 'SIGKILL'),
  };
}

async function waitUntilAnswering(child: ChildProcess, url: string, stderr: () => string): Promise<void> {
  const rpc = new JsonRpcClient(url, 500);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`local chain (anvil) exited at start: ${stderr().trim() || 'no output'}`);
    try {
      await rpc.call('eth_chainId', [], z.string());
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`local chain (anvil) did not answer on ${url} within ${READY_TIMEOUT_MS} ms: ${stderr().trim()}`);
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  // anvil writes its state on SIGINT; give it a moment, then make sure.
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

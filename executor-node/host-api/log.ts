// thetazero.log(msg, level?): synchronous, no round trip. Lines go to the result's logs
// and count as host calls; they are not audited one by one (the logs are the record).
import type { GuestArg, HostFunctionSpec } from '../sandbox/host-function.ts';
import { GuestVisibleError } from '../sandbox/host-function.ts';
import { limitExceeded, RunStopError } from '../sandbox/run-stop.ts';
import { LOG_LEVELS, type LogLevel } from '../sandbox/sandbox-result.ts';
import type { RunLedger } from './run-ledger.ts';

export function logFunction(ledger: RunLedger, maxLogBytes: number): HostFunctionSpec {
  return {
    name: 'log',
    mode: 'sync',
    maxArgBytes: maxLogBytes,
    invoke(args) {
      ledger.countHostCall('log');
      const [message, levelArg] = args;
      let level: LogLevel = 'info';
      if (levelArg && levelArg.kind !== 'undefined') {
        if (levelArg.kind !== 'string' || !(LOG_LEVELS as readonly string[]).includes(levelArg.value)) {
          throw new GuestVisibleError('invalid_arguments', `level must be one of ${LOG_LEVELS.join(', ')}`);
        }
        level = levelArg.value as LogLevel;
      }
      if (message?.kind === 'too_large') {
        throw new RunStopError(limitExceeded('log_limit_exceeded', `logs exceed ${maxLogBytes} bytes`, 'log'));
      }
      ledger.addLog(level, messageText(message));
      return undefined;
    },
  };
}

function messageText(arg: GuestArg | undefined): string {
  if (!arg || arg.kind === 'undefined') return 'undefined';
  if (arg.kind === 'string') return arg.value;
  if (arg.kind === 'json') return arg.json;
  return '[value that is not JSON-serializable]';
}

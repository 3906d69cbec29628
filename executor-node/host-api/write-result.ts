// thetazero.write_result(output): records the run's output. Last call wins; a value
// returned by the entry code replaces it. The value is serialized at the call, so later
// mutation in the guest does not change what was written.
import type { HostFunctionSpec } from '../sandbox/host-function.ts';
import { limitExceeded, RunStopError } from '../sandbox/run-stop.ts';
import { summarizeOutput } from './argument-summary.ts';
import type { HostCallGate } from './host-call-gate.ts';
import type { RunLedger } from './run-ledger.ts';

export interface WriteResultDeps {
  readonly gate: HostCallGate;
  readonly ledger: RunLedger;
  readonly maxOutputBytes: number;
}

export function writeResultFunction(deps: WriteResultDeps): HostFunctionSpec {
  return {
    name: 'write_result',
    mode: 'async',
    maxArgBytes: deps.maxOutputBytes,
    invoke(args) {
      const call = deps.gate.begin('write_result', summarizeOutput(args));
      call.check({ fn: 'write_result' });
      const [value] = args;
      if (value?.kind === 'too_large') {
        call.fail('output_too_large', `the output exceeds ${deps.maxOutputBytes} bytes`);
        throw new RunStopError(limitExceeded('output_too_large', `the output exceeds ${deps.maxOutputBytes} bytes`, 'write_result'));
      }
      if (value?.kind === 'string') {
        deps.ledger.outputJson = JSON.stringify(value.value);
      } else if (value?.kind === 'json') {
        deps.ledger.outputJson = value.json;
      } else {
        throw call.fail('invalid_output', 'write_result needs a JSON-serializable value');
      }
      call.succeed();
      return Promise.resolve(undefined);
    },
  };
}

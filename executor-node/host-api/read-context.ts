// thetazero.read_context(key) -> the stored value or null. The value comes from the
// agent's context store through the executor node (a ContextReader on the pool side);
// it arrives here as JSON text and is copied into the guest as a fresh value.
import type { HostFunctionSpec } from '../sandbox/host-function.ts';
import { summarizeKey } from './argument-summary.ts';
import type { HostCallGate } from './host-call-gate.ts';

/** The context store's key rule (the REST API's CONTEXT_KEY_PATTERN); other keys cannot exist. */
export const CONTEXT_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

/** JSON text of the stored value, or null when the key is not set. */
export type ContextLookup = (key: string, signal: AbortSignal) => Promise<string | null>;

export interface ReadContextDeps {
  readonly gate: HostCallGate;
  readonly lookup: ContextLookup;
  readonly maxValueBytes: number;
}

export function readContextFunction(deps: ReadContextDeps): HostFunctionSpec {
  return {
    name: 'read_context',
    mode: 'async',
    maxArgBytes: 1024,
    invoke(args, signal) {
      const call = deps.gate.begin('read_context', summarizeKey(args));
      call.check({ fn: 'read_context' });
      const [key] = args;
      if (key?.kind !== 'string' || !CONTEXT_KEY.test(key.value)) {
        throw call.fail('invalid_arguments', 'key must be 1-128 letters, digits, _, ., : or -');
      }
      call.takeApiCall();
      return deps.lookup(key.value, signal).then(
        (json) => {
          if (json !== null && Buffer.byteLength(json, 'utf8') > deps.maxValueBytes) {
            throw call.fail('context_value_too_large', `the stored value exceeds ${deps.maxValueBytes} bytes`);
          }
          call.succeed();
          return json ?? 'null';
        },
        () => {
          throw call.fail('context_unavailable', 'the context store could not be read');
        },
      );
    },
  };
}

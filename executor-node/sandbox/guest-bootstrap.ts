// The little JavaScript the sandbox itself runs inside a fresh QuickJS context, before
// any agent code. Compiling is what a fresh context costs most (a 3 KB prelude took
// longer than creating the context), so the globals are built through the FFI in
// guest-run.ts and only these short pieces are compiled, the second only when needed.

/**
 * Removes the built-ins that have no place in a run (shared memory, weak references and
 * finalizers let a run observe the garbage collector or outlive its own turn) and
 * evaluates to [AsyncFunction, freezeReviver]: the constructor the entry code is compiled
 * with, and a JSON.parse reviver that freezes every value of the input as it is built.
 */
export const GUEST_PRELUDE_SOURCE = `(delete globalThis.SharedArrayBuffer, delete globalThis.Atomics,
 delete globalThis.WeakRef, delete globalThis.FinalizationRegistry, delete globalThis.WebAssembly,
 [(async function () {}).constructor, (key, value) => Object.freeze(value)])`;

/**
 * Reads a thrown value without trusting it (getters and toString may throw or lie) and
 * returns [name, message, stack] as JSON text, serialized with the JSON.stringify
 * captured before agent code ran. Compiled only when a run has an error to describe.
 */
export const GUEST_DESCRIBE_ERROR_SOURCE = `(function (stringify) {
  function clip(text, max) {
    return text.length > max ? text.slice(0, max) + '...[truncated]' : text;
  }
  return function describeError(error) {
    try {
      if (error !== null && typeof error === 'object') {
        const name = typeof error.name === 'string' ? error.name : 'Error';
        const message = typeof error.message === 'string' ? error.message : '' + error;
        const trace = typeof error.stack === 'string' ? error.stack : '';
        return stringify([clip(name, 100), clip(message, 2000), clip(trace, 4000)]);
      }
      return stringify(['', clip('' + error, 2000), '']);
    } catch (e) {
      return stringify(['', 'a value that could not be described was thrown', '']);
    }
  };
})`;

// The contract between the engine (guest-run.ts) and the host API (executor-node/host-api/).
// The engine copies arguments out of the guest as JSON text and copies JSON text back in;
// host functions never see a QuickJS handle and never hand the guest a host object.

/** One argument as it came out of the guest. Strings stay strings; everything else is JSON text. */
export type GuestArg =
  | { readonly kind: 'undefined' }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'json'; readonly json: string }
  | { readonly kind: 'too_large'; readonly limitBytes: number }
  | { readonly kind: 'not_json'; readonly reason: string };

/** JSON text for the guest, or undefined. */
export type HostReturn = string | undefined;

export interface HostFunctionSpec {
  readonly name: string;
  /**
   * sync: runs inside the guest's turn (thetazero.log). async: admission (arguments,
   * policy, budgets) happens synchronously, then the returned promise does the I/O.
   */
  readonly mode: 'sync' | 'async';
  /** Cap on each argument's serialized size; larger arguments arrive as too_large. */
  readonly maxArgBytes: number;
  /**
   * Throw GuestVisibleError for an error the agent's code sees (and may catch); throw
   * RunStopError to end the run. An async function's promise may reject with either.
   */
  invoke(args: readonly GuestArg[], signal: AbortSignal): HostReturn | Promise<HostReturn>;
}

/** An error delivered into the guest as an Error with `code`; its message must be safe to show. */
export class GuestVisibleError extends Error {
  override readonly name = 'GuestVisibleError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

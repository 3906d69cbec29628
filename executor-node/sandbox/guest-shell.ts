// The part of a run's fresh QuickJS runtime and context that does not depend on the run:
// the runtime and context themselves, the JSON intrinsics captured before any agent code,
// and the prelude's results. A thread makes the next one while it is idle, after a run's
// result has left (quickjs-instance.ts), so a run only adds its own globals: a fresh
// runtime per run stays the isolation rule, it is just built ahead of time. Every
// handle here is handed to the one run that takes the shell, which disposes of them.
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten-core';
import { GUEST_PRELUDE_SOURCE } from './guest-bootstrap.ts';

export interface GuestShell {
  readonly runtime: QuickJSRuntime;
  readonly ctx: QuickJSContext;
  readonly jsonStringify: QuickJSHandle;
  readonly jsonParse: QuickJSHandle;
  /** The AsyncFunction constructor the entry code is compiled with. */
  readonly asyncFunction: QuickJSHandle;
  /** A JSON.parse reviver that freezes every value of the input as it is built. */
  readonly freezeReviver: QuickJSHandle;
}

/** Throws if the prelude fails: it runs no agent code, so that is the engine's fault. */
export function openGuestShell(module: QuickJSWASMModule): GuestShell {
  const runtime = module.newRuntime();
  const ctx = runtime.newContext();
  // computeMemoryUsage would otherwise build a whole extra context to report into.
  runtime.context = ctx;
  const json = ctx.getProp(ctx.global, 'JSON');
  const jsonStringify = ctx.getProp(json, 'stringify');
  const jsonParse = ctx.getProp(json, 'parse');
  json.dispose();
  const prelude = ctx.evalCode(GUEST_PRELUDE_SOURCE, 'sandbox-prelude.js');
  if (prelude.error) {
    const detail = String(ctx.dump(prelude.error)?.message ?? 'unknown error');
    prelude.error.dispose();
    throw new Error(`sandbox prelude failed: ${detail}`);
  }
  const asyncFunction = ctx.getProp(prelude.value, 0);
  const freezeReviver = ctx.getProp(prelude.value, 1);
  prelude.value.dispose();
  return { runtime, ctx, jsonStringify, jsonParse, asyncFunction, freezeReviver };
}

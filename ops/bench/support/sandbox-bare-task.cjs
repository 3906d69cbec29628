// The throughput reference: a bare Piscina task that creates a QuickJS runtime and context,
// evaluates the task's code, and disposes both. No host API, no policy, no audit.
'use strict';
const { newQuickJSWASMModuleFromVariant } = require('quickjs-emscripten-core');
const variant = require('@jitl/quickjs-wasmfile-release-sync');

const ready = newQuickJSWASMModuleFromVariant(variant.default ?? variant);

module.exports = async function bareTask(task) {
  const module = await ready;
  const runtime = module.newRuntime();
  const ctx = runtime.newContext();
  const result = ctx.evalCode(task.code);
  const value = result.error ? null : ctx.dump(result.value);
  (result.error ?? result.value).dispose();
  ctx.dispose();
  runtime.dispose();
  return { value };
};

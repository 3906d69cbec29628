// Worker entry for the in-thread sandbox figures (sandbox-in-thread.ts). TypeScript loads
// through tsx's in-thread CommonJS hook, as in the real sandbox threads.
'use strict';
const { parentPort } = require('node:worker_threads');
require('tsx/cjs/api').register();
require('./sandbox-in-thread.ts')
  .measureInThread()
  .then((figures) => parentPort.postMessage({ ok: true, figures }))
  .catch((err) => parentPort.postMessage({ ok: false, error: String(err && err.stack ? err.stack : err) }));

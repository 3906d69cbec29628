// Entry file of a sandbox thread (Piscina `filename`). Node 20 worker threads do not
// inherit tsx's ESM hooks from the parent, and registering them in each thread starts
// one more hooks thread per worker (about 30 MB each). tsx's CommonJS hook runs inside
// the thread, so the TypeScript thread side is loaded through it, however the parent
// process was started (node --import tsx, or the `tz` CLI's programmatic register()).
'use strict';
require('tsx/cjs/api').register();
module.exports = require('./sandbox-thread.ts').default;

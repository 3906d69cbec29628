// The product page's sandbox, as the reference for sandbox start: a fresh worker thread
// per execution, a clean vm.createContext() with a thetazero bridge whose calls go to the
// parent over postMessage, the script run, the result posted back. Timed from spawn to result.
'use strict';
const vm = require('node:vm');
const { parentPort, workerData } = require('node:worker_threads');

const pending = new Map();
let seq = 0;
parentPort.on('message', (reply) => {
  pending.get(reply.id)?.(reply.value);
  pending.delete(reply.id);
});
const call = (fn, args) =>
  new Promise((resolve) => {
    const id = ++seq;
    pending.set(id, resolve);
    parentPort.postMessage({ type: 'call', id, fn, args });
  });
const thetazero = Object.freeze({
  log: (msg, level = 'info') => parentPort.postMessage({ type: 'log', msg: String(msg), level }),
  http_request: (...args) => call('http_request', args),
  read_context: (key) => call('read_context', [key]),
  write_result: (output) => call('write_result', [output]),
  agentName: 'bench',
  agentVersion: '1.0.0',
  executionId: 1,
});
const context = vm.createContext({ thetazero, input: JSON.parse(JSON.stringify(workerData.input)) });
vm.runInContext(`(async () => { ${workerData.code} })()`, context).then(
  (value) => parentPort.postMessage({ type: 'done', value }),
  (err) => parentPort.postMessage({ type: 'done', error: String(err) }),
);

// `npm test`: builds the TypeScript SDK, type-checks, runs mocha, then the Python SDK's
// unittest suite, and ends with one line over both suites, "N passed, N failed", which CI
// reads. Exits non-zero when a step or a test failed.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'node_modules/.bin');

/** Runs a command with its output passed through; resolves with its exit code and output. */
function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], ...opts.spawn });
    let output = '';
    child.stdout.on('data', (c) => { output += c; process.stdout.write(c); });
    child.stderr.on('data', (c) => { output += c; process.stderr.write(c); });
    child.on('error', (err) => resolve({ code: 127, output: `${output}\n${err.message}` }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

/** mocha's summary reporter ends with "N passed, N failed[, N skipped]". */
export function parseMocha(output) {
  const matches = [...output.matchAll(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/gm)];
  const m = matches.at(-1);
  return m ? { passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3] ?? 0) } : null;
}

/** unittest ends with "Ran N tests" and "OK[ (skipped=s)]" or "FAILED (failures=f, errors=e, skipped=s)". */
export function parseUnittest(output) {
  const ran = [...output.matchAll(/^Ran (\d+) tests? in /gm)].at(-1);
  const verdict = [...output.matchAll(/^(OK|FAILED)(?: \(([^)]*)\))?\s*$/gm)].at(-1);
  if (!ran || !verdict) return null;
  const counts = Object.fromEntries((verdict[2] ?? '').split(',').map((s) => s.trim().split('=')).filter((kv) => kv.length === 2).map(([k, v]) => [k, Number(v)]));
  const failed = (counts.failures ?? 0) + (counts.errors ?? 0) + (counts['unexpected successes'] ?? 0);
  const skipped = counts.skipped ?? 0;
  // A failing setUpModule is an error of a run of 0 tests: never count below zero.
  return { passed: Math.max(0, Number(ran[1]) - failed - skipped - (counts['expected failures'] ?? 0)), failed, skipped };
}

const totals = { passed: 0, failed: 0, skipped: 0 };
function finish() {
  const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : '';
  process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed${skipped}\n`);
  process.exit(totals.failed > 0 ? 1 : 0);
}

async function main() {
  for (const [what, cmd, args] of [
    ['build the TypeScript SDK', process.execPath, ['sdk/typescript/scripts/build.mjs']],
    ['type-check', path.join(BIN, 'tsc'), ['--noEmit', '-p', 'tsconfig.json']],
  ]) {
    const { code } = await run(cmd, args);
    if (code !== 0) {
      process.stderr.write(`\n${what} failed (exit ${code}); no tests ran\n`);
      totals.failed += 1;
      return finish();
    }
  }

  const mocha = await run(path.join(BIN, 'mocha'), process.argv.slice(2));
  const m = parseMocha(mocha.output);
  if (m) Object.keys(totals).forEach((k) => (totals[k] += m[k]));
  if (!m || (mocha.code !== 0 && m.failed === 0)) {
    process.stderr.write(`\nmocha exited ${mocha.code} without a usable summary\n`);
    totals.failed += 1;
  }

  process.stdout.write('\n== Python SDK (python3 -m unittest)\n');
  const py = await run('python3', ['-m', 'unittest', 'discover', '-v', '-s', 'tests', '-t', '.'], {
    env: { PYTHONPATH: path.join(ROOT, 'sdk/python'), PYTHONDONTWRITEBYTECODE: '1' },
    spawn: { cwd: path.join(ROOT, 'sdk/python') },
  });
  const p = parseUnittest(py.output);
  if (p) Object.keys(totals).forEach((k) => (totals[k] += p[k]));
  if (!p || (py.code !== 0 && p.failed === 0)) {
    process.stderr.write(`\nthe Python suite exited ${py.code} without a usable summary\n`);
    totals.failed += 1;
  }
  finish();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();

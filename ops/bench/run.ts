// Runs every benchmark in ops/bench/*.bench.ts (or those named on the command line),
// prints one table and writes the same rows to ops/bench/last-run.json.
import { readdir, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import type { Benchmark, BenchRow } from './benchmark.ts';
import { loadBenchSettings } from '../../shared/config.ts';
import { ConfigError } from '../../shared/errors.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

async function loadBenchmarks(): Promise<Benchmark[]> {
  const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
  const loaded: Benchmark[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(path.join(here, file)).href)) as { default: Benchmark };
    loaded.push(mod.default);
  }
  return loaded;
}

function formatTable(rows: readonly (BenchRow & { benchmark: string })[]): string {
  const header = ['benchmark', 'figure', 'value', 'reference', 'goal', 'met?'];
  const body = rows.map((r) => [
    r.benchmark,
    r.name,
    `${r.value} ${r.unit}`,
    r.reference,
    r.goal,
    r.met === null ? '-' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const settings = loadBenchSettings();
  const wanted = process.argv.slice(2);
  const all = await loadBenchmarks();
  const unknown = wanted.filter((w) => !all.some((b) => b.name === w));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.map((b) => b.name).join(', ')}\n`);
    process.exit(2);
  }
  const selected = wanted.length > 0 ? all.filter((b) => wanted.includes(b.name)) : all;
  const rows: (BenchRow & { benchmark: string })[] = [];
  for (const bench of selected) {
    process.stderr.write(`running ${bench.name}: ${bench.description}\n`);
    for (const row of await bench.run(settings)) rows.push({ benchmark: bench.name, ...row });
  }
  process.stdout.write(`${formatTable(rows)}\n`);
  await writeFile(path.join(here, 'last-run.json'), `${JSON.stringify(rows, null, 2)}\n`);
}

try {
  await main();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}

// Builds the package: regenerates the preset lists, bundles src/ to CommonJS and ESM
// with esbuild (Node 18 target, no dependencies), and emits declarations with tsc.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate-presets.mjs';

const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(PKG, 'dist');

await generate();
rmSync(DIST, { recursive: true, force: true });
const common = { entryPoints: [path.join(PKG, 'src/index.ts')], bundle: true, platform: 'node', target: 'node18', logLevel: 'warning' };
await build({ ...common, format: 'cjs', outfile: path.join(DIST, 'index.cjs') });
await build({ ...common, format: 'esm', outfile: path.join(DIST, 'index.mjs') });

const tscCandidates = [path.join(PKG, 'node_modules/.bin/tsc'), path.resolve(PKG, '../../node_modules/.bin/tsc')];
const tsc = tscCandidates.find((p) => existsSync(p));
if (!tsc) throw new Error('tsc not found: run npm install at the repository root');
execFileSync(tsc, ['-p', path.join(PKG, 'tsconfig.json')], { stdio: 'inherit' });

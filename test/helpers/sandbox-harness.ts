// Shared pieces for sandbox tests: operator settings with small limits (so floods end
// fast), pools built on them, one pool per describe block with its lifecycle hooks, agents
// built from fixture files, and the health check every hostile test ends with. The sandbox
// suites all need the same pool setup; a variation is an override, not a copy.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig, type SandboxSettings } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import { resolveAgentPermissions, type AgentPresetName } from '../../shared/permissions/agent-presets.ts';
import type { AgentScope } from '../../shared/permissions/agent-scopes.ts';
import { resolveAgentConfig, type AgentConfigInput } from '../../shared/sandbox-templates.ts';
import { SandboxPool, type SandboxPoolOptions } from '../../executor-node/sandbox/sandbox-pool.ts';
import type { SandboxAgent } from '../../executor-node/sandbox/sandbox-request.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/agents');

/** The product defaults, with the flood limits lowered so hostile tests end in milliseconds. */
export function testSandboxSettings(overrides: Partial<SandboxSettings> = {}): SandboxSettings {
  return {
    ...loadConfig({}).sandbox,
    poolSize: 2,
    maxHostCalls: 400,
    maxLogLines: 50,
    maxLogBytes: 16 * 1024,
    maxOutputBytes: 64 * 1024,
    maxInputBytes: 64 * 1024,
    apiCallsPerMinute: 30,
    killGraceMs: 500,
    ...overrides,
  };
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A pool on the test settings with `overrides` applied, logging nothing. */
export function testSandboxPool(
  overrides: Partial<SandboxSettings> = {},
  options: Omit<SandboxPoolOptions, 'settings' | 'logger'> = {},
): SandboxPool {
  return new SandboxPool({ settings: testSandboxSettings(overrides), logger: silentLogger(), ...options });
}

/**
 * One pool shared by the tests of the enclosing describe block: made before the first test,
 * destroyed after the last. Unless `checkHealthAfterEach` is false, every test must also leave
 * the pool able to run plain executions, since a hostile test passes only if the host survives it.
 * Read `.pool` inside tests and hooks; it does not exist while the suite is being declared.
 */
export function sandboxPoolPerSuite(
  overrides: Partial<SandboxSettings> = {},
  options: Omit<SandboxPoolOptions, 'settings' | 'logger'> & { checkHealthAfterEach?: boolean } = {},
): { readonly pool: SandboxPool } {
  const { checkHealthAfterEach = true, ...poolOptions } = options;
  let pool: SandboxPool | undefined;
  before(() => {
    pool = testSandboxPool(overrides, poolOptions);
  });
  after(async () => pool?.destroy());
  const suite = {
    get pool(): SandboxPool {
      if (!pool) throw new Error('the suite pool exists only while its describe block runs');
      return pool;
    },
  };
  if (checkHealthAfterEach) afterEach(async () => assertPoolHealthy(suite.pool));
  return suite;
}

/** The path of a file in test/fixtures/agents, for code that takes a file rather than its text. */
export function fixturePath(file: string): string {
  return path.join(FIXTURES, file);
}

export function fixtureCode(name: string): string {
  return readFileSync(fixturePath(`${name}.js`), 'utf8');
}

let executionSeq = 1000;
export function nextExecutionId(): number {
  return ++executionSeq;
}

export function testAgent(
  entryCode: string,
  options: { config?: AgentConfigInput; permissions?: readonly AgentScope[] | AgentPresetName } = {},
): SandboxAgent {
  const resolved = resolveAgentConfig({ cpu_time_limit_ms: 2000, memory_limit_mb: 32, ...options.config });
  if (!resolved.ok) throw new Error(`bad test config: ${resolved.message}`);
  return {
    name: 'test-agent',
    version: '1.0.0',
    entryCode,
    config: resolved.config,
    permissions: resolveAgentPermissions(options.permissions ?? 'READONLY').scopes,
  };
}

/** The host is healthy when a plain run on the same pool still completes, on every thread. */
export async function assertPoolHealthy(pool: SandboxPool): Promise<void> {
  const runs = await Promise.all(
    [1, 2, 3, 4].map((n) =>
      pool.run({ executionId: nextExecutionId(), agent: testAgent('return { doubled: input.n * 2 }'), input: { n } }),
    ),
  );
  for (const [i, result] of runs.entries()) {
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    assert.deepEqual(result.output, { doubled: (i + 1) * 2 });
  }
}

// `tz sandbox run FILE`: runs agent code in the sandbox on this machine, with the same
// engine, host API, policy and limits as an executor node, and prints the result JSON.
// read_context answers null (and is audited); no database or Redis is involved.
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { SandboxPool } from '../../executor-node/sandbox/sandbox-pool.ts';
import { nullContextReader } from '../../executor-node/sandbox/sandbox-request.ts';
import { REDACT_PATHS } from '../../shared/logger.ts';
import {
  AGENT_PRESET_NAMES,
  DEFAULT_AGENT_PRESET,
  isAgentPresetName,
  resolveAgentPermissions,
} from '../../shared/permissions/agent-presets.ts';
import { isAgentScope, type AgentScope } from '../../shared/permissions/agent-scopes.ts';
import { resolveAgentConfig, type AgentConfig } from '../../shared/sandbox-templates.ts';
import { agentConfigInput } from '../../shared/agent-config-schema.ts';
import { parseOptions, UsageError, type CliCommand } from '../command.ts';

const configInputSchema = agentConfigInput;

function parseJsonOption(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--${name} is not valid JSON`);
  }
}

function agentConfig(text: string | undefined): AgentConfig {
  const raw = text === undefined ? {} : parseJsonOption('config', text);
  const parsed = configInputSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`--config ${issue.path.join('.') || 'value'}: ${issue.message}`);
  }
  const resolved = resolveAgentConfig(parsed.data);
  if (!resolved.ok) throw new UsageError(`--config ${resolved.field}: ${resolved.message}`);
  return resolved.config;
}

function permissions(text: string | undefined): AgentScope[] {
  const value = (text ?? DEFAULT_AGENT_PRESET).trim();
  if (isAgentPresetName(value)) return resolveAgentPermissions(value).scopes;
  const scopes = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = scopes.filter((s) => !isAgentScope(s));
  if (unknown.length > 0) {
    throw new UsageError(
      `--permissions: unknown scope ${unknown.join(', ')}; give scopes separated by commas or a preset (${AGENT_PRESET_NAMES.join(', ')})`,
    );
  }
  return resolveAgentPermissions(scopes as AgentScope[]).scopes;
}

export const sandboxRunCommand: CliCommand = {
  words: ['sandbox', 'run'],
  usage: 'sandbox run FILE [--input JSON] [--config JSON] [--permissions LIST|PRESET]',
  summary: 'Run agent code in the local sandbox and print the result JSON',
  async run(args, io) {
    const parsed = parseOptions(args, {
      input: { type: 'string' },
      config: { type: 'string' },
      permissions: { type: 'string' },
    });
    const [file, ...extra] = parsed.positionals;
    if (!file || extra.length > 0) throw new UsageError('give exactly one FILE');
    const input = parsed.values.input === undefined ? null : parseJsonOption('input', parsed.values.input);
    const config = agentConfig(parsed.values.config);
    const scopes = permissions(parsed.values.permissions);
    let entryCode: string;
    try {
      entryCode = await readFile(file, 'utf8');
    } catch {
      throw new UsageError(`cannot read ${file}`);
    }

    const settings = io.config();
    const logger = pino(
      { level: settings.logLevel, base: { role: 'tz-sandbox' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
      pino.destination({ fd: 2, sync: true }),
    );
    // One run needs one thread; the limits are the operator's, as on an executor node.
    const pool = new SandboxPool({ settings: { ...settings.sandbox, poolSize: 1 }, logger });
    try {
      const result = await pool.run({
        executionId: 0,
        agent: { name: 'local', version: '0.0.0', entryCode, config, permissions: scopes },
        input,
        contextReader: nullContextReader,
      });
      io.out(JSON.stringify(result, null, 2));
      return result.status === 'completed' ? 0 : 1;
    } finally {
      await pool.destroy();
    }
  },
};

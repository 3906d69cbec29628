// SecureAgent: one governed agent on a ThetaZero server, as on the product page's Quick Start.
import { AGENT_PRESETS, AGENT_PRESET_NAMES, type AgentPresetName, type AgentScope } from './generated/agent-presets.js';
import { HttpTransport } from './http-transport.js';
import { SDKError } from './sdk-error.js';
import { openEventStream, type StreamEvent, type StreamHandle } from './sse-stream.js';
import { ExecutionHandle, isFinalStatus, pollUntilFinal, toExecutionResult } from './execution-handle.js';
import type {
  AgentRecord,
  AuditLogPage,
  AuditQuery,
  AuditRecord,
  AuditStreamOptions,
  ExecutionPage,
  ExecutionResult,
  ExecutionStatus,
  ExecutionSummary,
  SandboxTemplate,
  SecureAgentOptions,
  WireExecution,
} from './types.js';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';
export const DEFAULT_AGENT_NAME = 'secure-agent';
/** What configure() deploys when no entryCode is given: echoes the input back. */
export const DEFAULT_ENTRY_CODE = 'return { received: input };';
const SANDBOXES: readonly SandboxTemplate[] = ['STRICT', 'STANDARD', 'DEV'];
const AGENTS = '/api/v1/sdk/agents';
/**
 * Node's fetch gives up on a response whose headers take more than 300 s; a synchronous
 * execute that may wait longer is submitted asynchronously and polled instead.
 */
const SYNC_WAIT_CEILING_MS = 240_000;
const EXECUTE_WAIT_ALLOWANCE_MS = 10_000;

type PresetTable = { readonly [K in AgentPresetName]: readonly AgentScope[] };

function envVar(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.[name];
  return value === '' ? undefined : value;
}

function toIso(value: string | Date | undefined): string | undefined {
  return value instanceof Date ? value.toISOString() : value;
}

function summaryFromWire(wire: WireExecution, baseUrl: string): ExecutionSummary {
  const { output: _o, hostCallAudit: _h, logs: _l, ...rest } = toExecutionResult(wire, baseUrl);
  return rest;
}

export class SecureAgent {
  /** The server's permission presets (generated from its source, never retyped). */
  static readonly permissions: PresetTable = AGENT_PRESETS;

  readonly name: string;
  readonly version: string | undefined;
  readonly sandbox: SandboxTemplate;
  readonly permissions: readonly AgentScope[] | AgentPresetName;
  readonly compliance: readonly string[];
  private readonly options: SecureAgentOptions;
  private readonly transport: HttpTransport;
  private id: number | undefined;
  private record: AgentRecord | undefined;

  constructor(options: SecureAgentOptions) {
    if (!options || typeof options.apiKey !== 'string' || !options.apiKey.startsWith('tzk_')) {
      throw new SDKError('invalid_options', 0, 'apiKey is required and must start with tzk_');
    }
    if (options.sandbox !== undefined && !SANDBOXES.includes(options.sandbox)) {
      throw new SDKError('invalid_options', 0, `sandbox must be one of ${SANDBOXES.join(', ')}`);
    }
    if (typeof options.permissions === 'string' && !(AGENT_PRESET_NAMES as readonly string[]).includes(options.permissions)) {
      throw new SDKError('invalid_options', 0, `permissions must be a scope array or one of ${AGENT_PRESET_NAMES.join(', ')}`);
    }
    this.options = options;
    this.name = options.name ?? DEFAULT_AGENT_NAME;
    this.version = options.version;
    this.sandbox = options.sandbox ?? 'STANDARD';
    this.permissions = options.permissions ?? 'READONLY';
    this.compliance = options.compliance ?? [];
    this.id = options.agentId;
    this.transport = new HttpTransport({
      apiKey: options.apiKey,
      baseUrl: options.baseUrl ?? envVar('THETAZERO_BASE_URL') ?? DEFAULT_BASE_URL,
      timeoutMs: options.timeoutMs,
      maxRetries: options.maxRetries,
    });
  }

  /** The agent's id, once configure() ran or when given as agentId. */
  get agentId(): number | undefined {
    return this.id;
  }

  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  /**
   * Creates or updates the agent on the server (upsert by name, or PATCH when agentId was
   * given) with its code, permissions, limits and sandbox template, and sets it ready.
   */
  async configure(): Promise<AgentRecord> {
    const o = this.options;
    const config: Record<string, unknown> = { sandbox_template: this.sandbox };
    if (o.limits?.maxMemoryMb !== undefined) config.memory_limit_mb = o.limits.maxMemoryMb;
    if (o.limits?.maxExecutionTimeSec !== undefined) config.cpu_time_limit_ms = Math.round(o.limits.maxExecutionTimeSec * 1000);
    if (o.limits?.maxApiCallsPerRun !== undefined) config.max_api_calls_per_run = o.limits.maxApiCallsPerRun;
    if (o.allowNetwork !== undefined) config.allow_network = o.allowNetwork;
    if (o.allowedDomains !== undefined) config.allowed_domains = o.allowedDomains;
    const body: Record<string, unknown> = { config, permissions: this.permissions, status: 'ready' };
    if (o.version !== undefined) body.version = o.version;
    if (o.description !== undefined) body.description = o.description;
    let res: { body: { agent: AgentRecord } };
    if (this.id !== undefined) {
      if (o.name !== undefined) body.name = o.name;
      if (o.entryCode !== undefined) body.entry_code = o.entryCode;
      res = await this.transport.json({ method: 'PATCH', path: `${AGENTS}/${this.id}`, body });
    } else {
      body.name = this.name;
      body.entry_code = o.entryCode ?? DEFAULT_ENTRY_CODE;
      res = await this.transport.json({ method: 'POST', path: AGENTS, body });
    }
    this.record = res.body.agent;
    this.id = res.body.agent.id;
    return res.body.agent;
  }

  /** The agent as the server holds it now, with its entry code. */
  async getAgent(): Promise<AgentRecord> {
    const { body } = await this.transport.json<{ agent: AgentRecord }>({ path: `${AGENTS}/${this.requireId()}` });
    this.record = body.agent;
    return body.agent;
  }

  /**
   * Runs the agent with `input` and resolves with the final result. The server answers when
   * the run ends; if it answers 202 (still running), this polls until the run ends.
   */
  async run(input: unknown = null, opts: { timeoutMs?: number } = {}): Promise<ExecutionResult> {
    const id = await this.ensureConfigured();
    const limitMs = this.record?.config.cpu_time_limit_ms ?? 30_000;
    const timeoutMs = opts.timeoutMs ?? limitMs + 120_000;
    if (limitMs + EXECUTE_WAIT_ALLOWANCE_MS > SYNC_WAIT_CEILING_MS) return (await this.submit(input)).wait({ timeoutMs });
    const { status, body } = await this.transport.json<WireExecution>({
      method: 'POST',
      path: `${AGENTS}/${id}/execute`,
      body: { input },
      timeoutMs: limitMs + EXECUTE_WAIT_ALLOWANCE_MS + 30_000,
    });
    if (status === 200 && isFinalStatus(body.status)) return toExecutionResult(body, this.transport.baseUrl);
    return pollUntilFinal(this.transport, id, body.execution_id, timeoutMs);
  }

  /** Queues a run and returns at once with a handle to wait for it and follow its progress. */
  async submit(input: unknown = null): Promise<ExecutionHandle> {
    const id = await this.ensureConfigured();
    const acceptedAt = new Date();
    const { body } = await this.transport.json<WireExecution>({
      method: 'POST',
      path: `${AGENTS}/${id}/execute`,
      query: { async: 'true' },
      body: { input },
    });
    return new ExecutionHandle(this.transport, id, body.execution_id, acceptedAt);
  }

  /** A page of this agent's executions, newest first (without output, logs and host-call audit). */
  async executions(opts: { page?: number; limit?: number; status?: ExecutionStatus } = {}): Promise<ExecutionPage> {
    const { body } = await this.transport.json<{ executions: WireExecution[]; total: number; page: number; limit: number }>({
      path: `${AGENTS}/${this.requireId()}/executions`,
      query: { page: opts.page, limit: opts.limit, status: opts.status },
    });
    return { executions: body.executions.map((e) => summaryFromWire(e, this.transport.baseUrl)), total: body.total, page: body.page, limit: body.limit };
  }

  /** Everything about one execution of this agent. */
  async getExecution(executionId: number): Promise<ExecutionResult> {
    const { body } = await this.transport.json<WireExecution>({ path: `${AGENTS}/${this.requireId()}/executions/${executionId}` });
    return toExecutionResult(body, this.transport.baseUrl);
  }

  /** The kill switch for this agent: halts it, terminates its running executions, ends its queued ones. */
  async stop(reason?: string): Promise<AgentRecord> {
    const { body } = await this.transport.json<{ agent: AgentRecord }>({
      method: 'POST',
      path: `/api/sdk/agents/${this.requireId()}/kill`,
      body: reason === undefined ? {} : { reason },
    });
    this.record = body.agent;
    return body.agent;
  }

  /** Halts (halted: true) or resumes (halted: false) every agent of the key's account. */
  static async globalKill(
    body: { halted: boolean; reason?: string },
    opts: { apiKey: string; baseUrl?: string; timeoutMs?: number },
  ): Promise<{ halted: boolean; reason: string | null }> {
    if (!opts?.apiKey?.startsWith('tzk_')) throw new SDKError('invalid_options', 0, 'apiKey is required and must start with tzk_');
    const transport = new HttpTransport({ apiKey: opts.apiKey, baseUrl: opts.baseUrl ?? envVar('THETAZERO_BASE_URL') ?? DEFAULT_BASE_URL, timeoutMs: opts.timeoutMs });
    const res = await transport.json<{ halted: boolean; reason: string | null }>({ method: 'POST', path: '/api/sdk/kill-switch/global', body });
    return { halted: res.body.halted, reason: res.body.reason };
  }

  /** Audit records, oldest first; by default this agent's once it is configured. */
  async getAuditLog(opts: AuditQuery = {}): Promise<AuditLogPage> {
    const { body } = await this.transport.json<{ events: AuditRecord[]; total: number; anchored: boolean; next_cursor: string | null }>({
      path: '/api/v1/sdk/audit',
      query: {
        from: toIso(opts.from),
        to: toIso(opts.to),
        actionTypes: opts.actionTypes?.length ? opts.actionTypes.join(',') : undefined,
        violationsOnly: opts.violationsOnly,
        limit: opts.limit,
        cursor: opts.cursor,
        agentId: opts.agentId === undefined ? this.id : (opts.agentId ?? undefined),
        executionId: opts.executionId,
      },
    });
    return { events: body.events, total: body.total, anchored: body.anchored, nextCursor: body.next_cursor };
  }

  /** Re-derives the account's hash chain up to this record and reports its anchoring. */
  async verifyAuditRecord(recordId: number): Promise<Record<string, unknown> & { chain_valid: boolean; anchored: boolean }> {
    const { body } = await this.transport.json<Record<string, unknown> & { chain_valid: boolean; anchored: boolean }>({ path: `/api/v1/sdk/audit/${recordId}/verify` });
    return body;
  }

  /** The account's audit trail over a range: csv as text, json and summary parsed. */
  async exportAuditLog(format: 'csv', opts?: { from?: string | Date; to?: string | Date }): Promise<string>;
  async exportAuditLog(format: 'json' | 'summary', opts?: { from?: string | Date; to?: string | Date }): Promise<Record<string, unknown>>;
  async exportAuditLog(format: 'json' | 'csv' | 'summary', opts: { from?: string | Date; to?: string | Date } = {}): Promise<string | Record<string, unknown>> {
    const text = await this.transport.text({
      path: '/api/v1/sdk/audit/export',
      query: { format, from: toIso(opts.from), to: toIso(opts.to) },
      headers: { accept: format === 'csv' ? 'text/csv' : 'application/json' },
      timeoutMs: 300_000,
    });
    return format === 'csv' ? text : (JSON.parse(text) as Record<string, unknown>);
  }

  /**
   * Follows the live audit stream; by default this agent's records once it is configured.
   * Reconnects after a drop or the server's max age, resuming with Last-Event-ID.
   */
  streamAuditLog(opts: AuditStreamOptions, onEvent: (event: StreamEvent) => void): StreamHandle {
    return openEventStream(this.transport, {
      path: '/api/v1/sdk/audit/stream',
      query: {
        agentId: opts.agentId === undefined ? this.id : (opts.agentId ?? undefined),
        executionId: opts.executionId,
        since: toIso(opts.since),
      },
      lastEventId: opts.lastEventId === undefined ? undefined : String(opts.lastEventId),
      onEvent,
      onError: opts.onError,
    });
  }

  private async ensureConfigured(): Promise<number> {
    if (this.id !== undefined && this.record !== undefined) return this.id;
    if (this.id !== undefined) return (await this.getAgent()).id;
    return (await this.configure()).id;
  }

  private requireId(): number {
    if (this.id === undefined) throw new SDKError('not_configured', 0, 'call configure() first, or pass agentId');
    return this.id;
  }
}

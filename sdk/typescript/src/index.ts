// @thetazero/agent-sdk: run governed, sandboxed agents on ThetaZero. No runtime dependencies.
export { SecureAgent, DEFAULT_BASE_URL, DEFAULT_AGENT_NAME, DEFAULT_ENTRY_CODE } from './secure-agent.js';
export { SDKError } from './sdk-error.js';
export { ExecutionHandle } from './execution-handle.js';
export { SseParser, type StreamEvent, type StreamHandle } from './sse-stream.js';
export { AGENT_SCOPES, AGENT_PRESETS, AGENT_PRESET_NAMES, type AgentScope, type AgentPresetName } from './generated/agent-presets.js';
export type * from './types.js';

// The SDK's permission presets are generated from the server's lists; they must not drift.
import assert from 'node:assert/strict';
import * as generated from '../../../sdk/typescript/src/generated/agent-presets.ts';
import { AGENT_PRESETS, AGENT_PRESET_NAMES, DEFAULT_AGENT_PRESET } from '../../../shared/permissions/agent-presets.ts';
import { AGENT_SCOPES } from '../../../shared/permissions/agent-scopes.ts';

describe('sdk/typescript generated agent presets', () => {
  it('equal the server scope list', () => {
    assert.deepEqual([...generated.AGENT_SCOPES], [...AGENT_SCOPES]);
  });

  it('equal the server presets, name for name and scope for scope', () => {
    assert.deepEqual([...generated.AGENT_PRESET_NAMES], [...AGENT_PRESET_NAMES]);
    for (const name of AGENT_PRESET_NAMES) assert.deepEqual([...generated.AGENT_PRESETS[name]], [...AGENT_PRESETS[name]], name);
    assert.equal(generated.DEFAULT_AGENT_PRESET, DEFAULT_AGENT_PRESET);
  });
});

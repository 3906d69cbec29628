import assert from 'node:assert/strict';
import { resolveAgentConfig, DEFAULT_AGENT_CONFIG } from '../../../shared/sandbox-templates.ts';

describe('resolveAgentConfig', () => {
  it('uses the product page defaults and records STANDARD when no template is named', () => {
    const r = resolveAgentConfig({});
    assert.deepEqual(r, {
      ok: true,
      config: { ...DEFAULT_AGENT_CONFIG, allowed_domains: [], sandbox_template: 'STANDARD' },
    });
  });

  it('fills unspecified limits from the named template and lets explicit limits override', () => {
    const r = resolveAgentConfig({ sandbox_template: 'STRICT', memory_limit_mb: 512 });
    assert.ok(r.ok);
    assert.equal(r.config.memory_limit_mb, 512);
    assert.equal(r.config.cpu_time_limit_ms, 120_000);
    assert.equal(r.config.max_api_calls_per_run, 50);
    assert.equal(r.config.allow_network, false);
  });

  it('refuses network under STRICT and says why', () => {
    const r = resolveAgentConfig({ sandbox_template: 'STRICT', allow_network: true });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.field === 'config.allow_network' && /STRICT blocks network/.test(r.message));
  });
});

import assert from 'node:assert/strict';
import { checkHostCall, HOST_FUNCTION_SCOPES, type HostCallGrant } from '../../../../shared/permissions/check-host-call.ts';

const researcher: HostCallGrant = {
  scopes: ['network:outbound', 'data:read'],
  allowNetwork: true,
  allowedDomains: ['api.example.com', '*.data.example'],
  maxApiCallsPerRun: 3,
};

describe('checkHostCall', () => {
  it('names the scope each host function needs', () => {
    assert.deepEqual(HOST_FUNCTION_SCOPES, {
      log: null,
      write_result: null,
      http_request: 'network:outbound',
      read_context: 'data:read',
    });
  });

  it('lets log and write_result through for any agent, without counting them', () => {
    const none: HostCallGrant = { scopes: [], allowNetwork: false, allowedDomains: [], maxApiCallsPerRun: 0 };
    assert.deepEqual(checkHostCall(none, { fn: 'log' }, 0), { allowed: true, countsAsApiCall: false });
    assert.deepEqual(checkHostCall(none, { fn: 'write_result' }, 99), { allowed: true, countsAsApiCall: false });
  });

  it('denies http_request without network:outbound, even with allow_network', () => {
    const decision = checkHostCall({ ...researcher, scopes: ['data:read'] }, { fn: 'http_request', host: 'api.example.com' }, 0);
    assert.equal(decision.allowed, false);
    assert.ok(!decision.allowed && decision.code === 'scope_missing' && /network:outbound/.test(decision.message));
  });

  it('denies http_request without allow_network, even with the scope', () => {
    const decision = checkHostCall({ ...researcher, allowNetwork: false }, { fn: 'http_request', host: 'api.example.com' }, 0);
    assert.ok(!decision.allowed && decision.code === 'network_disabled');
  });

  it('applies allowed_domains to the host, and skips it while the host is not known yet', () => {
    assert.equal(checkHostCall(researcher, { fn: 'http_request', host: 'api.example.com' }, 0).allowed, true);
    assert.equal(checkHostCall(researcher, { fn: 'http_request', host: 'x.data.example' }, 0).allowed, true);
    const other = checkHostCall(researcher, { fn: 'http_request', host: 'evil.example.net' }, 0);
    assert.ok(!other.allowed && other.code === 'domain_not_allowed');
    assert.equal(checkHostCall(researcher, { fn: 'http_request', host: null }, 0).allowed, true);
  });

  it('denies read_context without data:read', () => {
    const decision = checkHostCall({ ...researcher, scopes: ['network:outbound'] }, { fn: 'read_context' }, 0);
    assert.ok(!decision.allowed && decision.code === 'scope_missing');
  });

  it('counts http_request and read_context against max_api_calls_per_run', () => {
    assert.deepEqual(checkHostCall(researcher, { fn: 'read_context' }, 2), { allowed: true, countsAsApiCall: true });
    const spent = checkHostCall(researcher, { fn: 'read_context' }, 3);
    assert.ok(!spent.allowed && spent.code === 'budget_exhausted');
    const spentHttp = checkHostCall(researcher, { fn: 'http_request', host: 'api.example.com' }, 3);
    assert.ok(!spentHttp.allowed && spentHttp.code === 'budget_exhausted');
  });

  it('checks the scope before the budget, so a denial names the missing permission', () => {
    const decision = checkHostCall({ ...researcher, scopes: [] }, { fn: 'read_context' }, 10);
    assert.ok(!decision.allowed && decision.code === 'scope_missing');
  });
});

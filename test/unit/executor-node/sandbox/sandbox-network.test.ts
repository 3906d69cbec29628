// thetazero.http_request end to end: the SSRF matrix from inside the sandbox, header
// injection, and the positive path through `tz sandbox run` against a local HTTPS server
// that the sandbox may reach only because the test trusts 127.0.0.1/32 explicitly.
import assert from 'node:assert/strict';
import type { SandboxResult } from '../../../../executor-node/sandbox/sandbox-result.ts';
import { startHttpsTestServer, type HttpsTestServer } from '../../../helpers/https-test-server.ts';
import { runTz } from '../../../helpers/processes.ts';
import { fixtureCode, fixturePath, nextExecutionId, sandboxPoolPerSuite, testAgent } from '../../../helpers/sandbox-harness.ts';

const NETWORK_CONFIG = { allow_network: true, max_api_calls_per_run: 100 };

const SSRF_MATRIX: Record<string, string> = {
  'http://example.com/': 'scheme_not_allowed',
  'file:///etc/passwd': 'scheme_not_allowed',
  'data:text/plain,hello': 'scheme_not_allowed',
  'https://user:pass@example.com/': 'userinfo_not_allowed',
  'https://example.com@127.0.0.1/': 'userinfo_not_allowed',
  'https://127.0.0.1/': 'address_not_allowed',
  'https://10.0.0.1/': 'address_not_allowed',
  'https://172.16.5.4/': 'address_not_allowed',
  'https://192.168.0.10/': 'address_not_allowed',
  'https://169.254.169.254/latest/meta-data/': 'address_not_allowed',
  'https://100.64.0.1/': 'address_not_allowed',
  'https://0.0.0.0/': 'address_not_allowed',
  'https://2130706433/': 'address_not_allowed',
  'https://0177.0.0.1/': 'address_not_allowed',
  'https://0x7f000001/': 'address_not_allowed',
  'https://0x7f.1/': 'address_not_allowed',
  'https://[::1]/': 'address_not_allowed',
  'https://[::ffff:127.0.0.1]/': 'address_not_allowed',
  'https://[fd00:ec2::254]/': 'address_not_allowed',
  'https://localhost/': 'address_not_allowed',
};

describe('sandbox network', function () {
  this.timeout(60_000);

  describe('inside a pool with no trusted networks', () => {
    const sandbox = sandboxPoolPerSuite({ apiCallsPerMinute: 100 });

    it('refuses every SSRF form, audits each as denied and counts each as a violation', async () => {
      const result = await sandbox.pool.run({
        executionId: nextExecutionId(),
        agent: testAgent(fixtureCode('ssrf-matrix'), { config: NETWORK_CONFIG, permissions: 'RESEARCHER' }),
        input: { urls: Object.keys(SSRF_MATRIX) },
      });
      assert.equal(result.status, 'completed', JSON.stringify(result.error));
      assert.deepEqual(result.output, SSRF_MATRIX);
      assert.equal(result.host_call_audit.length, Object.keys(SSRF_MATRIX).length);
      for (const entry of result.host_call_audit) {
        assert.equal(entry.allowed, false, JSON.stringify(entry));
        assert.ok(entry.reason && Object.values(SSRF_MATRIX).includes(entry.reason));
        assert.equal(JSON.stringify(entry.args).includes('pass@'), false, 'userinfo is redacted in the audit');
      }
      assert.equal(result.violation_count, Object.keys(SSRF_MATRIX).length);
      assert.ok(result.violations.every((v) => v.kind === 'permission_denied' && v.fn === 'http_request'));
    });

    it('refuses CR/LF/NUL in headers and headers the client owns, without sending anything', async () => {
      const result = await sandbox.pool.run({
        executionId: nextExecutionId(),
        agent: testAgent(fixtureCode('crlf-header'), { config: NETWORK_CONFIG, permissions: 'RESEARCHER' }),
        input: null,
      });
      assert.equal(result.status, 'completed', JSON.stringify(result.error));
      assert.deepEqual(result.output, {
        value: 'invalid_header',
        name: 'invalid_header',
        lf: 'invalid_header',
        nul: 'invalid_header',
        reserved: 'header_not_allowed',
        transfer: 'header_not_allowed',
      });
      assert.equal(result.resource_usage.api_calls, 0);
      assert.equal(result.violation_count, 6);
    });

    it('denies http_request without allow_network, and outside allowed_domains', async () => {
      const noNetwork = await sandbox.pool.run({
        executionId: nextExecutionId(),
        agent: testAgent(fixtureCode('ssrf-matrix'), { permissions: 'RESEARCHER' }),
        input: { urls: ['https://api.example.com/'] },
      });
      assert.deepEqual(noNetwork.output, { 'https://api.example.com/': 'network_disabled' });
      const outside = await sandbox.pool.run({
        executionId: nextExecutionId(),
        agent: testAgent(fixtureCode('ssrf-matrix'), {
          config: { ...NETWORK_CONFIG, allowed_domains: ['*.example.com'] },
          permissions: 'RESEARCHER',
        }),
        input: { urls: ['https://example.com.evil.net/', 'https://example.com/'] },
      });
      assert.deepEqual(outside.output, {
        'https://example.com.evil.net/': 'domain_not_allowed',
        'https://example.com/': 'domain_not_allowed',
      });
    });
  });

  describe('tz sandbox run against a local HTTPS server', () => {
    let server: HttpsTestServer;
    before(async () => {
      server = await startHttpsTestServer();
    });
    after(async () => server?.close());

    async function tzRun(fixture: string, input: unknown, trusted: boolean): Promise<{ code: number | null; result: SandboxResult; stderr: string }> {
      const out = await runTz(
        ['sandbox', 'run', fixturePath(`${fixture}.js`), '--input', JSON.stringify(input),
          '--config', JSON.stringify(NETWORK_CONFIG), '--permissions', 'RESEARCHER'],
        { NODE_EXTRA_CA_CERTS: server.caFile, SANDBOX_TRUSTED_CIDRS: trusted ? '127.0.0.1/32' : '', LOG_LEVEL: 'warn' },
      );
      assert.ok(out.stdout.startsWith('{'), out.stderr);
      return { code: out.code, result: JSON.parse(out.stdout) as SandboxResult, stderr: out.stderr };
    }

    it('reaches the server when the operator trusts 127.0.0.1/32, parses JSON, redacts the token, warns loudly', async () => {
      const { code, result, stderr } = await tzRun('network-fetch', { url: server.url('/json') }, true);
      assert.equal(code, 0, JSON.stringify(result.error));
      assert.equal(result.status, 'completed');
      assert.deepEqual(result.output, { status: 200, processed: 3, type: 'application/json' });
      const [entry] = result.host_call_audit;
      assert.deepEqual([entry!.fn, entry!.allowed, entry!.error], ['http_request', true, null]);
      assert.equal((entry!.args.headers as Record<string, string>).authorization, '[redacted]');
      assert.equal(JSON.stringify(result).includes('secret-token'), false);
      assert.deepEqual(result.logs.map((l) => l.message), ['Status: 200']);
      assert.match(stderr, /SANDBOX_TRUSTED_CIDRS is set/);
    });

    it('refuses the same server without the trusted CIDR, and exits 1', async () => {
      const { code, result } = await tzRun('network-fetch', { url: server.url('/json') }, false);
      assert.equal(code, 1);
      assert.equal(result.status, 'failed');
      assert.match(result.error!.message, /127\.0\.0\.1|::1/);
      assert.equal(result.host_call_audit[0]!.reason, 'address_not_allowed');
      assert.equal(result.violations[0]!.kind, 'permission_denied');
    });

    it('re-checks redirects even from a trusted server: private and metadata targets are refused', async () => {
      const redirect = (to: string) => server.url(`/redirect?to=${encodeURIComponent(to)}`);
      const urls = [
        server.url('/json'),
        redirect('https://169.254.169.254/latest/meta-data/'),
        redirect('https://10.1.2.3/'),
        redirect('https://[::ffff:127.0.0.1]/'),
        redirect('http://example.com/'),
        server.url('/loop'),
      ];
      const { result } = await tzRun('ssrf-matrix', { urls }, true);
      assert.equal(result.status, 'completed', JSON.stringify(result.error));
      assert.deepEqual(Object.values(result.output as Record<string, string>), [
        'reached:200',
        'address_not_allowed',
        'address_not_allowed',
        'address_not_allowed',
        'scheme_not_allowed',
        'too_many_redirects',
      ]);
    });
  });
});

import assert from 'node:assert/strict';
import { createHostApi, type HostApiLimits } from '../../../../executor-node/host-api/host-api.ts';
import type { HttpClient } from '../../../../executor-node/host-api/http-request.ts';
import { RunLedger } from '../../../../executor-node/host-api/run-ledger.ts';
import { GuestVisibleError, type GuestArg, type HostFunctionSpec } from '../../../../executor-node/sandbox/host-function.ts';
import { RunStopError } from '../../../../executor-node/sandbox/run-stop.ts';
import type { GuardedRequest } from '../../../../shared/net/guarded-https-client.ts';
import { OutboundRequestError } from '../../../../shared/net/outbound-request-error.ts';
import type { HostCallGrant } from '../../../../shared/permissions/check-host-call.ts';

const LIMITS: HostApiLimits = {
  apiCallsPerMinute: 5,
  maxOutputBytes: 1024,
  maxLogBytes: 1024,
  maxContextValueBytes: 1024,
  httpMaxRequestBytes: 256,
  httpMaxResponseBytes: 4096,
};

const GRANT: HostCallGrant = {
  scopes: ['network:outbound', 'data:read'],
  allowNetwork: true,
  allowedDomains: ['api.example.com'],
  maxApiCallsPerRun: 10,
};

const str = (value: string): GuestArg => ({ kind: 'string', value });
const json = (value: unknown): GuestArg => ({ kind: 'json', json: JSON.stringify(value) });

function setup(options: { grant?: Partial<HostCallGrant>; client?: HttpClient; context?: Record<string, unknown> } = {}) {
  const ledger = new RunLedger({ maxHostCalls: 100, maxLogLines: 10, maxLogBytes: 1024 });
  const sent: GuardedRequest[] = [];
  const client: HttpClient =
    options.client ??
    (async (request) => {
      sent.push(request);
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from('{"items":[1,2],"__proto__":{"polluted":true}}'),
        url: request.url,
        redirects: 0,
        address: '93.184.216.34',
      };
    });
  const fns = createHostApi({
    grant: { ...GRANT, ...options.grant },
    ledger,
    limits: LIMITS,
    http: client,
    readContext: async (key) => (key in (options.context ?? {}) ? JSON.stringify(options.context![key]) : null),
  });
  const fn = (name: string): HostFunctionSpec => fns.find((f) => f.name === name)!;
  const call = (name: string, args: GuestArg[]) => fn(name).invoke(args, new AbortController().signal);
  return { ledger, sent, call };
}

function guestError(work: () => unknown): GuestVisibleError {
  try {
    work();
  } catch (err) {
    assert.ok(err instanceof GuestVisibleError, String(err));
    return err;
  }
  assert.fail('expected a GuestVisibleError');
}

async function rejection(work: unknown): Promise<unknown> {
  try {
    await work;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

describe('host API', () => {
  describe('http_request', () => {
    it('sends a checked request and returns status, headers and the parsed JSON body', async () => {
      const { call, sent, ledger } = setup();
      const reply = await call('http_request', [
        str('https://api.example.com/items?api_key=zzz'),
        str('post'),
        json({ Authorization: 'Bearer secret', 'X-Mode': 'fast' }),
        json({ q: 1 }),
      ]);
      const response = JSON.parse(reply as string);
      assert.equal(response.status, 200);
      assert.deepEqual(response.body, { items: [1, 2] });
      assert.equal(Object.getPrototypeOf(response.body), Object.prototype);
      assert.equal(sent[0]!.method, 'POST');
      assert.deepEqual(sent[0]!.headers, { authorization: 'Bearer secret', 'x-mode': 'fast', 'content-type': 'application/json' });
      assert.equal(sent[0]!.body!.toString(), '{"q":1}');
      const [entry] = ledger.audit;
      assert.equal(entry!.fn, 'http_request');
      assert.equal(entry!.allowed, true);
      assert.equal(entry!.error, null);
      assert.equal(JSON.stringify(entry!.args).includes('secret'), false);
      assert.equal(JSON.stringify(entry!.args).includes('zzz'), false);
      assert.equal(ledger.apiCalls, 1);
      assert.equal(ledger.violations.length, 0);
    });

    it('refuses CR, LF and NUL in headers as a denied call and a violation, sending nothing', () => {
      for (const headers of [{ 'X-A': 'v\r\nInjected: 1' }, { 'X-A\nB': 'v' }, { 'X-A': 'v\u0000' }]) {
        const { call, sent, ledger } = setup();
        const err = guestError(() => call('http_request', [str('https://api.example.com/'), str('GET'), json(headers)]));
        assert.equal(err.code, 'invalid_header');
        assert.equal(sent.length, 0);
        assert.deepEqual(
          [ledger.audit[0]!.allowed, ledger.audit[0]!.reason, ledger.violations[0]!.kind],
          [false, 'invalid_header', 'permission_denied'],
        );
        assert.equal(ledger.apiCalls, 0);
      }
    });

    it('refuses headers the client owns', () => {
      for (const name of ['Host', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Proxy-Authorization']) {
        const { call } = setup();
        const err = guestError(() => call('http_request', [str('https://api.example.com/'), str('GET'), json({ [name]: 'x' })]));
        assert.equal(err.code, 'header_not_allowed', name);
      }
    });

    it('denies without the scope, without allow_network, and outside allowed_domains', () => {
      assert.equal(guestError(() => setup({ grant: { scopes: ['data:read'] } }).call('http_request', [str('https://api.example.com/')])).code, 'scope_missing');
      assert.equal(guestError(() => setup({ grant: { allowNetwork: false } }).call('http_request', [str('https://api.example.com/')])).code, 'network_disabled');
      const { call, ledger } = setup();
      assert.equal(guestError(() => call('http_request', [str('https://evil.example.net/')])).code, 'domain_not_allowed');
      assert.equal(ledger.violations[0]!.code, 'domain_not_allowed');
    });

    it('denies other schemes and userinfo at admission', () => {
      const { call } = setup({ grant: { allowedDomains: [] } });
      assert.equal(guestError(() => call('http_request', [str('http://api.example.com/')])).code, 'scheme_not_allowed');
      assert.equal(guestError(() => call('http_request', [str('file:///etc/passwd')])).code, 'scheme_not_allowed');
      assert.equal(guestError(() => call('http_request', [str('https://a@api.example.com/')])).code, 'userinfo_not_allowed');
    });

    it('reports malformed arguments as a failed call, not a violation', () => {
      const { call, ledger } = setup();
      assert.equal(guestError(() => call('http_request', [json(42)])).code, 'invalid_arguments');
      assert.equal(guestError(() => call('http_request', [str('https://api.example.com/'), str('BREW')])).code, 'invalid_arguments');
      assert.equal(guestError(() => call('http_request', [str('https://api.example.com/'), str('GET'), undefinedArg(), str('body')])).code, 'invalid_arguments');
      assert.equal(guestError(() => call('http_request', [str('https://api.example.com/'), str('POST'), undefinedArg(), str('x'.repeat(300))])).code, 'request_too_large');
      assert.ok(ledger.audit.every((e) => e.allowed && e.error !== null));
      assert.equal(ledger.violations.length, 0);
    });

    it('records an address refusal found after DNS as a denied call and a violation', async () => {
      const { call, ledger } = setup({
        client: async () => {
          throw new OutboundRequestError('address_not_allowed', 'api.example.com resolves to 10.0.0.1 (private)');
        },
      });
      const err = await rejection(call('http_request', [str('https://api.example.com/')]));
      assert.ok(err instanceof GuestVisibleError && err.code === 'address_not_allowed');
      assert.equal(ledger.audit[0]!.allowed, false);
      assert.equal(ledger.violations[0]!.code, 'address_not_allowed');
    });

    it('records a network failure as an allowed call that failed', async () => {
      const { call, ledger } = setup({
        client: async () => {
          throw new OutboundRequestError('timeout', 'request timed out');
        },
      });
      const err = await rejection(call('http_request', [str('https://api.example.com/')]));
      assert.ok(err instanceof GuestVisibleError && err.code === 'timeout');
      assert.deepEqual([ledger.audit[0]!.allowed, ledger.audit[0]!.error], [true, 'timeout']);
      assert.equal(ledger.violations.length, 0);
    });
  });

  describe('budgets', () => {
    it('ends the run at max_api_calls_per_run, recording the refused call', async () => {
      const { call, ledger } = setup({ grant: { maxApiCallsPerRun: 2 } });
      await call('read_context', [str('a')]);
      await call('read_context', [str('b')]);
      assert.throws(
        () => call('read_context', [str('c')]),
        (err: unknown) => err instanceof RunStopError && err.stop.code === 'api_call_budget_exhausted' && err.stop.status === 'limit_exceeded',
      );
      assert.deepEqual(ledger.audit.map((e) => [e.allowed, e.reason]), [[true, null], [true, null], [false, 'budget_exhausted']]);
    });

    it('ends the run past the per-minute rate, as rate_limited', async () => {
      const { call } = setup({ grant: { maxApiCallsPerRun: 100 } });
      for (let i = 0; i < LIMITS.apiCallsPerMinute; i++) await call('read_context', [str(`k${i}`)]);
      assert.throws(
        () => call('read_context', [str('one-too-many')]),
        (err: unknown) => err instanceof RunStopError && err.stop.status === 'rate_limited' && err.stop.code === 'rate_limit_exceeded',
      );
    });
  });

  describe('read_context, write_result, log', () => {
    it('returns the stored value as JSON text, or null', async () => {
      const { call, ledger } = setup({ context: { profile: { tier: 'gold' } } });
      assert.equal(await call('read_context', [str('profile')]), '{"tier":"gold"}');
      assert.equal(await call('read_context', [str('missing')]), 'null');
      assert.equal(ledger.audit.length, 2);
      assert.equal(guestError(() => call('read_context', [str('bad key with spaces')])).code, 'invalid_arguments');
    });

    it('keeps the last write_result and refuses values that are not JSON', async () => {
      const { call, ledger } = setup();
      await call('write_result', [json({ v: 1 })]);
      await call('write_result', [str('second')]);
      assert.equal(ledger.outputJson, '"second"');
      assert.equal(guestError(() => call('write_result', [{ kind: 'not_json', reason: 'cycle' }])).code, 'invalid_output');
      assert.throws(
        () => call('write_result', [{ kind: 'too_large', limitBytes: 1024 }]),
        (err: unknown) => err instanceof RunStopError && err.stop.code === 'output_too_large',
      );
    });

    it('logs with a level, counts lines as host calls, and does not audit them', () => {
      const { call, ledger } = setup();
      call('log', [str('hello')]);
      call('log', [json({ a: 1 }), str('warn')]);
      assert.deepEqual(ledger.logs.map((l) => [l.level, l.message]), [['info', 'hello'], ['warn', '{"a":1}']]);
      assert.equal(ledger.hostCalls, 2);
      assert.equal(ledger.audit.length, 0);
      assert.equal(guestError(() => call('log', [str('x'), str('loud')])).code, 'invalid_arguments');
    });

    it('ends the run past the log line limit', () => {
      const { call } = setup();
      for (let i = 0; i < 10; i++) call('log', [str(`line ${i}`)]);
      assert.throws(() => call('log', [str('eleven')]), (err: unknown) => err instanceof RunStopError && err.stop.code === 'log_limit_exceeded');
    });
  });
});

function undefinedArg(): GuestArg {
  return { kind: 'undefined' };
}

import assert from 'node:assert/strict';
import { AddressPolicy } from '../../../../shared/net/address-policy.ts';
import { guardedHttpsRequest, type GuardedClientOptions, type GuardedRequest } from '../../../../shared/net/guarded-https-client.ts';
import { OutboundRequestError } from '../../../../shared/net/outbound-request-error.ts';
import type { ResolvedAddress, Resolver } from '../../../../shared/net/pinned-resolver.ts';
import { startHttpsTestServer, type HttpsTestServer } from '../../../helpers/https-test-server.ts';

const LOOPBACK: ResolvedAddress = { address: '127.0.0.1', family: 4 };

/** A resolver for names no real DNS knows; counts lookups so pinning can be checked. */
function fakeDns(table: Record<string, ResolvedAddress[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (host: string) => {
    calls.push(host);
    const answers = table[host];
    if (!answers) throw new Error(`ENOTFOUND ${host}`);
    return answers;
  };
  return Object.assign(resolve, { calls });
}

async function refusalOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (err) {
    assert.ok(err instanceof OutboundRequestError, String(err));
    return err.code;
  }
  assert.fail('the request was not refused');
}

describe('guardedHttpsRequest', () => {
  let server: HttpsTestServer;
  const trusted = new AddressPolicy(['127.0.0.1/32']);
  const strict = new AddressPolicy();

  before(async () => {
    server = await startHttpsTestServer();
  });
  after(async () => server?.close());

  function get(url: string, headers: Record<string, string> = {}): GuardedRequest {
    return { url, method: 'GET', headers, body: null };
  }

  function options(overrides: Partial<GuardedClientOptions> = {}): GuardedClientOptions {
    return {
      policy: trusted,
      allowHost: () => true,
      timeoutMs: 5000,
      maxResponseBytes: 64 * 1024,
      ca: server.caPem,
      resolve: fakeDns({ localhost: [LOOPBACK], 'pinned.test': [LOOPBACK], 'other.test': [LOOPBACK] }),
      ...overrides,
    };
  }

  it('reaches the test server only because 127.0.0.1/32 is a trusted CIDR', async () => {
    const response = await guardedHttpsRequest(get(server.url('/json')), options());
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body.toString('utf8')).items, [1, 2, 3]);
    assert.equal(response.address, '127.0.0.1');
  });

  it('refuses the same server without the trusted CIDR, before connecting', async () => {
    assert.equal(await refusalOf(guardedHttpsRequest(get(server.url('/json')), options({ policy: strict }))), 'address_not_allowed');
  });

  it('refuses a name that resolves to loopback through the real resolver (localhost)', async () => {
    const work = guardedHttpsRequest(get(server.url('/json')), options({ policy: strict, resolve: undefined }));
    assert.equal(await refusalOf(work), 'address_not_allowed');
  });

  it('connects to the address it checked, without resolving again', async () => {
    const dns = fakeDns({ 'pinned.test': [LOOPBACK] });
    // pinned.test exists in no real DNS: reaching it proves the socket used the pinned answer.
    const response = await guardedHttpsRequest(get(server.url('/json', 'pinned.test')), options({ resolve: dns }));
    assert.equal(response.status, 200);
    assert.deepEqual(dns.calls, ['pinned.test']);
  });

  it('refuses a name whose answers mix public and private addresses', async () => {
    const dns = fakeDns({ 'pinned.test': [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }] });
    assert.equal(await refusalOf(guardedHttpsRequest(get(server.url('/json', 'pinned.test')), options({ policy: strict, resolve: dns }))), 'address_not_allowed');
  });

  it('re-checks every redirect: private, metadata and mapped targets are refused', async () => {
    for (const target of ['https://10.1.2.3/', 'https://169.254.169.254/latest/meta-data/', 'https://[::ffff:127.0.0.1]/', 'https://192.168.0.1/admin']) {
      const work = guardedHttpsRequest(get(server.url(`/redirect?to=${encodeURIComponent(target)}`)), options());
      assert.equal(await refusalOf(work), 'address_not_allowed', target);
    }
  });

  it('re-checks every redirect: a downgrade to http and a name resolving to loopback are refused', async () => {
    const toHttp = guardedHttpsRequest(get(server.url(`/redirect?to=${encodeURIComponent('http://example.com/')}`)), options());
    assert.equal(await refusalOf(toHttp), 'scheme_not_allowed');
    const dns = fakeDns({ localhost: [LOOPBACK], 'rebind.test': [LOOPBACK] });
    const viaName = guardedHttpsRequest(
      get(server.url(`/redirect?to=${encodeURIComponent('https://rebind.test/')}`)),
      options({ resolve: dns, policy: new AddressPolicy(['127.0.0.1/32']), allowHost: (h) => h !== 'rebind.test' }),
    );
    assert.equal(await refusalOf(viaName), 'domain_not_allowed');
  });

  it('follows up to five redirects and refuses the sixth', async () => {
    const followed = await guardedHttpsRequest(get(server.url(`/redirect?to=${encodeURIComponent('/json')}`)), options());
    assert.equal(followed.status, 200);
    assert.equal(followed.redirects, 1);
    assert.equal(await refusalOf(guardedHttpsRequest(get(server.url('/loop')), options())), 'too_many_redirects');
  });

  it('drops credentials when a redirect changes origin, keeps them on the same origin', async () => {
    const secret = { authorization: 'Bearer s3cret', 'x-trace': 'keep' };
    const cross = await guardedHttpsRequest(
      get(server.url(`/redirect?to=${encodeURIComponent(server.url('/echo', 'other.test'))}`), secret),
      options(),
    );
    const crossEcho = JSON.parse(cross.body.toString('utf8'));
    assert.equal(crossEcho.headers.authorization, undefined);
    assert.equal(crossEcho.headers['x-trace'], 'keep');
    const same = await guardedHttpsRequest(get(server.url(`/redirect?to=${encodeURIComponent('/echo')}`), secret), options());
    assert.equal(JSON.parse(same.body.toString('utf8')).headers.authorization, 'Bearer s3cret');
  });

  it('turns POST into GET on 303 and keeps method and body on 307', async () => {
    const post = (to: string, status: number): GuardedRequest => ({
      url: server.url(`/redirect?status=${status}&to=${encodeURIComponent(to)}`),
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: Buffer.from('payload'),
    });
    const seeOther = JSON.parse((await guardedHttpsRequest(post('/echo', 303), options())).body.toString('utf8'));
    assert.equal(seeOther.method, 'GET');
    assert.equal(seeOther.body, '');
    const temporary = JSON.parse((await guardedHttpsRequest(post('/echo', 307), options())).body.toString('utf8'));
    assert.equal(temporary.method, 'POST');
    assert.equal(temporary.body, 'payload');
  });

  it('refuses a response body over the limit', async () => {
    const work = guardedHttpsRequest(get(server.url('/big?bytes=200000')), options({ maxResponseBytes: 100_000 }));
    assert.equal(await refusalOf(work), 'response_too_large');
  });

  it('times out a slow server', async () => {
    const work = guardedHttpsRequest(get(server.url('/slow?ms=3000')), options({ timeoutMs: 200 }));
    assert.equal(await refusalOf(work), 'timeout');
  });

  it('stops when the run that asked is aborted', async () => {
    const controller = new AbortController();
    const work = guardedHttpsRequest(get(server.url('/slow?ms=3000')), options({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    assert.equal(await refusalOf(work), 'aborted');
  });

  it('fails TLS against a certificate it does not trust', async () => {
    const work = guardedHttpsRequest(get(server.url('/json')), options({ ca: undefined }));
    assert.equal(await refusalOf(work), 'tls_error');
  });

  it('classifies refusals and failures apart', () => {
    assert.equal(new OutboundRequestError('address_not_allowed', 'x').refused, true);
    assert.equal(new OutboundRequestError('timeout', 'x').refused, false);
  });
});

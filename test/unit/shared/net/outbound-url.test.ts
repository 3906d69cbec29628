import assert from 'node:assert/strict';
import { parseOutboundUrl } from '../../../../shared/net/outbound-url.ts';

function refusal(raw: string): string {
  const result = parseOutboundUrl(raw);
  return result.ok ? 'ok' : result.code;
}

function literal(raw: string): string | null {
  const result = parseOutboundUrl(raw);
  assert.ok(result.ok, raw);
  return result.target.literalAddress;
}

describe('parseOutboundUrl', () => {
  it('accepts https and reports host, port and no literal for a name', () => {
    const result = parseOutboundUrl('https://API.Example.com./v1/items?q=1#frag');
    assert.ok(result.ok);
    assert.equal(result.target.host, 'api.example.com');
    assert.equal(result.target.port, 443);
    assert.equal(result.target.literalAddress, null);
    assert.equal(result.target.url.hash, '');
  });

  it('refuses every scheme but https', () => {
    assert.equal(refusal('http://example.com/'), 'scheme_not_allowed');
    assert.equal(refusal('file:///etc/passwd'), 'scheme_not_allowed');
    assert.equal(refusal('data:text/plain,hello'), 'scheme_not_allowed');
    assert.equal(refusal('ftp://example.com/'), 'scheme_not_allowed');
    assert.equal(refusal('javascript:alert(1)'), 'scheme_not_allowed');
    assert.equal(refusal('gopher://127.0.0.1:6379/_INFO'), 'scheme_not_allowed');
  });

  it('refuses userinfo, which makes a URL read as one host and connect to another', () => {
    assert.equal(refusal('https://user:pass@example.com/'), 'userinfo_not_allowed');
    assert.equal(refusal('https://example.com@169.254.169.254/'), 'userinfo_not_allowed');
    assert.equal(refusal('https://trusted.example%40evil@127.0.0.1/'), 'userinfo_not_allowed');
  });

  it('refuses what is not a URL', () => {
    assert.equal(refusal('not a url'), 'invalid_url');
    assert.equal(refusal('https://'), 'invalid_url');
    assert.equal(refusal(`https://example.com/${'a'.repeat(9000)}`), 'invalid_url');
  });

  it('canonicalises decimal, octal, hex and short IPv4 spellings to the address the socket would use', () => {
    assert.equal(literal('https://2130706433/'), '127.0.0.1');
    assert.equal(literal('https://0177.0.0.1/'), '127.0.0.1');
    assert.equal(literal('https://0x7f000001/'), '127.0.0.1');
    assert.equal(literal('https://0x7f.0x0.0x0.0x1/'), '127.0.0.1');
    assert.equal(literal('https://127.1/'), '127.0.0.1');
    assert.equal(literal('https://0xa9fea9fe/'), '169.254.169.254');
    assert.equal(literal('https://127.0.0.1./'), '127.0.0.1');
  });

  it('unwraps bracketed IPv6 literals, mapped forms included', () => {
    assert.equal(literal('https://[::1]/'), '::1');
    assert.equal(literal('https://[::ffff:127.0.0.1]/'), '::ffff:7f00:1');
    assert.equal(literal('https://[0:0:0:0:0:ffff:7f00:1]:8443/'), '::ffff:7f00:1');
  });

  it('resolves a relative redirect against the previous URL', () => {
    const result = parseOutboundUrl('/next?x=1', new URL('https://api.example.com/start'));
    assert.ok(result.ok);
    assert.equal(result.target.url.href, 'https://api.example.com/next?x=1');
  });
});

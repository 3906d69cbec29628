import assert from 'node:assert/strict';
import {
  REDACTED,
  redactHeaders,
  redactUrl,
  summarizeHttpRequest,
  summarizeOutput,
} from '../../../../executor-node/host-api/argument-summary.ts';

describe('argument summaries', () => {
  it('redacts authorization, cookies and anything that looks like a key or token', () => {
    const headers = redactHeaders({
      Authorization: 'Bearer abc',
      'Proxy-Authorization': 'Basic xyz',
      Cookie: 'sid=1',
      'X-Api-Key': 'k',
      'X-Auth-Token': 't',
      'X-Client-Secret': 's',
      Accept: 'application/json',
    });
    assert.deepEqual(headers, {
      Authorization: REDACTED,
      'Proxy-Authorization': REDACTED,
      Cookie: REDACTED,
      'X-Api-Key': REDACTED,
      'X-Auth-Token': REDACTED,
      'X-Client-Secret': REDACTED,
      Accept: 'application/json',
    });
  });

  it('redacts secret-looking query values and userinfo, and truncates long URLs', () => {
    const url = redactUrl('https://user:pw@api.example.com/v1?api_key=abc&page=2&access_token=t');
    assert.ok(!url.includes('abc') && !url.includes('pw') && !/access_token=t\b/.test(url));
    assert.match(url, /page=2/);
    assert.ok(redactUrl(`https://example.com/${'a'.repeat(1000)}`).length < 300);
  });

  it('summarizes an http_request without its body or secrets', () => {
    const summary = summarizeHttpRequest([
      { kind: 'string', value: 'https://api.example.com/items?token=zzz' },
      { kind: 'string', value: 'post' },
      { kind: 'json', json: '{"Authorization":"Bearer secret","X-Mode":"fast"}' },
      { kind: 'json', json: '{"password":"hunter2"}' },
    ]);
    assert.equal(JSON.stringify(summary).includes('secret'), false);
    assert.equal(JSON.stringify(summary).includes('hunter2'), false);
    assert.equal(JSON.stringify(summary).includes('zzz'), false);
    assert.deepEqual(summary.headers, { Authorization: REDACTED, 'X-Mode': 'fast' });
    assert.equal(summary.body_bytes, 22);
  });

  it('summarizes an output by size only', () => {
    assert.deepEqual(summarizeOutput([{ kind: 'json', json: '{"a":1}' }]), { output_bytes: 7 });
  });
});

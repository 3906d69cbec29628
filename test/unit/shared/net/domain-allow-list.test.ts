import assert from 'node:assert/strict';
import { hostMatchesAllowList } from '../../../../shared/net/domain-allow-list.ts';

describe('hostMatchesAllowList', () => {
  it('allows any host when the list is empty', () => {
    assert.equal(hostMatchesAllowList('anything.example', []), true);
  });

  it('matches exact names case-insensitively, trailing dot ignored', () => {
    assert.equal(hostMatchesAllowList('API.example.com', ['api.example.com.']), true);
    assert.equal(hostMatchesAllowList('api.example.com', ['example.com']), false);
    assert.equal(hostMatchesAllowList('evil-example.com', ['example.com']), false);
  });

  it('matches wildcards below the domain, not the domain itself', () => {
    const list = ['*.example.com'];
    assert.equal(hostMatchesAllowList('a.example.com', list), true);
    assert.equal(hostMatchesAllowList('a.b.example.com', list), true);
    assert.equal(hostMatchesAllowList('example.com', list), false);
    assert.equal(hostMatchesAllowList('badexample.com', list), false);
    assert.equal(hostMatchesAllowList('example.com.evil.net', list), false);
  });

  it('compares internationalised names in their ASCII form', () => {
    assert.equal(hostMatchesAllowList('xn--bcher-kva.example', ['bücher.example']), true);
  });
});

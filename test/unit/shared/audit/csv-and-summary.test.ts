import assert from 'node:assert/strict';
import { csvCell, csvRow } from '../../../../shared/audit/csv.ts';
import { REDACTED, sanitizeText, summarize } from '../../../../shared/audit/summarize.ts';
import { auditEvent, auditEventSchema } from '../../../../shared/audit/audit-event.ts';

describe('csv', () => {
  it('quotes per RFC 4180 and ends rows with CRLF', () => {
    assert.equal(csvRow(['a', 'b,c', 'say "hi"', 'two\nlines', null, 3, true]), 'a,"b,c","say ""hi""","two\nlines",,3,true\r\n');
    assert.equal(csvCell({ k: 'v' }), '"{""k"":""v""}"');
    assert.equal(csvCell(' padded '), '" padded "');
  });

  it('neutralises cells a spreadsheet would run as a formula', () => {
    for (const evil of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) assert.ok(csvCell(evil).replace(/^"/, '').startsWith("'"), evil);
    assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  });
});

describe('summarize', () => {
  it('redacts secret-looking fields, bearer tokens and API keys at any depth', () => {
    const key = `tzk_${'a'.repeat(43)}`;
    const text = summarize({ url: 'https://x', headers: { Authorization: 'Bearer abc.def', 'X-Api-Key': 'k' }, nested: [{ password: 'p' }], note: `use ${key} or Bearer zzz` })!;
    assert.ok(!text.includes('abc.def') && !text.includes(key) && !text.includes('zzz') && !text.includes('"p"'), text);
    assert.ok(text.includes(REDACTED));
    assert.ok(text.includes('https://x'));
  });

  it('bounds the length on a code point boundary and drops NUL and lone surrogates', () => {
    const long = summarize('😀'.repeat(2000))!;
    assert.ok(Array.from(long).length <= 1000);
    assert.ok(long.isWellFormed());
    assert.equal(sanitizeText('a\u0000b\uD800c', 100), 'ab\uFFFDc');
    assert.equal(summarize(undefined), null);
  });
});

describe('audit events', () => {
  it('builds a valid event with a fresh id and derives nothing it was not given', () => {
    const a = auditEvent({ accountId: 1, actor: 'system', actionType: 'halt', description: 'stop' });
    const b = auditEvent({ accountId: 1, actor: 'system', actionType: 'halt', description: 'stop' });
    assert.notEqual(a.event_id, b.event_id);
    assert.equal(a.is_violation, false);
    assert.deepEqual(a.permission_state, {});
  });

  it('refuses unknown action types, bad actors, extra fields and bad ids', () => {
    const base = auditEvent({ accountId: 1, actor: 'system', actionType: 'halt', description: 'x' });
    for (const bad of [
      { ...base, action_type: 'root' },
      { ...base, actor: 'somebody' },
      { ...base, extra: 1 },
      { ...base, account_id: -1 },
      { ...base, event_id: 'not-a-uuid' },
    ]) assert.equal(auditEventSchema.safeParse(bad).success, false, JSON.stringify(bad).slice(0, 80));
  });
});

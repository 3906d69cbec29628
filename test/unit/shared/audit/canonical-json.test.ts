import assert from 'node:assert/strict';
import { canonicalJson, CanonicalJsonError, MAX_DEPTH } from '../../../../shared/audit/canonical-json.ts';

function rejects(value: unknown, path: string, reason: RegExp): void {
  assert.throws(
    () => canonicalJson(value),
    (err: unknown) => err instanceof CanonicalJsonError && err.path === path && reason.test(err.message),
  );
}

describe('canonicalJson', () => {
  it('reproduces the RFC 8785 section 3.2.2 example byte for byte', () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    assert.equal(canonicalJson(JSON.parse(input)), expected);
  });

  it('sorts keys by UTF-16 code units, so an astral character sorts before U+FB33 (RFC 8785 3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const keys = Object.keys(JSON.parse(canonicalJson(input)) as object);
    // JSON.parse puts the integer-like key "1" first whatever the text order, so read the text.
    assert.deepEqual(keys.sort(), Object.keys(input).sort());
    assert.equal(
      canonicalJson(input),
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('formats every RFC 8785 Appendix B number as ECMAScript does', () => {
    const vectors: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, text] of vectors) {
      assert.equal(canonicalJson(Buffer.from(bits, 'hex').readDoubleBE(0)), text, bits);
    }
  });

  it('writes -0 as 0, switches to exponent form at 1e21, and keeps integers exact', () => {
    assert.equal(canonicalJson([-0, 1e20, 1e21, 1e-6, 1e-7, 42, -1.5]), '[0,100000000000000000000,1e+21,0.000001,1e-7,42,-1.5]');
  });

  it('drops all whitespace, keeps array order and sorts keys at every depth', () => {
    const value = { b: [3, { z: 1, a: [true, null] }, 'x'], a: { d: {}, c: [] } };
    assert.equal(canonicalJson(value), '{"a":{"c":[],"d":{}},"b":[3,{"a":[true,null],"z":1},"x"]}');
  });

  it('leaves non-ASCII text raw and escapes only what JSON requires, in lowercase hex', () => {
    assert.equal(canonicalJson('é 😀 \u2028 \u001f \t "q" \\'), '"é 😀 \u2028 \\u001f \\t \\"q\\" \\\\"');
  });

  it('gives the same text whatever order the keys were inserted in', () => {
    assert.equal(canonicalJson({ a: 1, b: { y: 2, x: 3 } }), canonicalJson({ b: { x: 3, y: 2 }, a: 1 }));
  });

  it('accepts null-prototype objects and the same object reached twice without a cycle', () => {
    const shared = { k: 1 };
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { v: shared });
    assert.equal(canonicalJson({ left: shared, right: bare }), '{"left":{"k":1},"right":{"v":{"k":1}}}');
  });

  it('rejects non-finite numbers', () => {
    rejects({ n: NaN }, '$.n', /NaN; JSON has no non-finite numbers/);
    rejects([Infinity], '$[0]', /Infinity/);
    rejects(-Infinity, '$', /-Infinity/);
  });

  it('rejects undefined anywhere instead of dropping it', () => {
    rejects(undefined, '$', /undefined; omit the key or use null/);
    rejects({ a: { b: undefined } }, '$.a.b', /undefined/);
    rejects([1, undefined], '$[1]', /undefined/);
    // eslint-disable-next-line no-sparse-arrays
    rejects([1, , 3], '$[1]', /hole in a sparse array/);
  });

  it('rejects functions, symbols and BigInt', () => {
    rejects({ f: () => 1 }, '$.f', /function/);
    rejects({ s: Symbol('x') }, '$.s', /symbol/);
    rejects({ big: 10n }, '$.big', /BigInt; pass it as a decimal string/);
  });

  it('rejects cycles through objects and arrays', () => {
    const obj: Record<string, unknown> = { a: 1 };
    obj.self = obj;
    rejects(obj, '$.self', /cycle/);
    const arr: unknown[] = [];
    arr.push({ back: arr });
    rejects(arr, '$[0].back', /cycle/);
  });

  it('rejects Dates, Maps, Buffers and class instances rather than guessing their JSON', () => {
    rejects({ at: new Date(0) }, '$.at', /Date; only plain objects and arrays/);
    rejects(new Map([['a', 1]]), '$', /Map/);
    rejects({ b: Buffer.from('x') }, '$.b', /Buffer/);
    class Point {
      x = 1;
    }
    rejects([new Point()], '$[0]', /Point/);
  });

  it('rejects lone surrogates in values and keys, and names odd keys in bracket form', () => {
    rejects({ s: 'ab\ud800' }, '$.s', /lone UTF-16 surrogate/);
    rejects({ 'bad key \udc00': 1 }, '$["bad key \\udc00"]', /lone UTF-16 surrogate/);
  });

  it('rejects nesting deeper than MAX_DEPTH with a clear error', () => {
    let deep: unknown = 0;
    for (let i = 0; i <= MAX_DEPTH; i++) deep = [deep];
    assert.throws(() => canonicalJson(deep), /nested deeper than 256 levels/);
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  AUDIT_HASHED_FIELDS,
  computeRecordHash,
  GENESIS_PREV_HASH,
  recordHashPreimage,
  verifyChain,
  type AuditHashedField,
  type AuditRecordFields,
  type ChainRecord,
} from '../../../../shared/audit/record-hash.ts';

const base: AuditRecordFields = {
  account_id: '7',
  sequence: 1,
  recorded_at: '2025-03-01T12:00:00.123Z',
  event_id: 'evt-0001',
  agent_id: '42',
  execution_id: null,
  actor: 'tzk_ab12cd34',
  action_type: 'agent_created',
  action_category: 'agent',
  description: 'agent "summariser" created',
  input_summary: { name: 'summariser' },
  output_summary: null,
  permission_state: { scopes: ['inference:call'], preset: 'READONLY' },
  is_violation: false,
};

/** Builds a valid chain of `n` records for account 7, ids 100, 101, ... */
function chain(n: number): ChainRecord[] {
  const records: ChainRecord[] = [];
  let prev = GENESIS_PREV_HASH;
  for (let sequence = 1; sequence <= n; sequence++) {
    const fields = { ...base, sequence, event_id: `evt-${sequence}`, description: `event ${sequence}` };
    const hash = computeRecordHash(fields, prev);
    records.push({ ...fields, id: 99 + sequence, prev_hash: prev, hash });
    prev = hash;
  }
  return records;
}

describe('computeRecordHash', () => {
  it('hashes exactly this canonical text, the procedure an outside verifier reproduces', () => {
    const preimage =
      '{"account_id":"7","action_category":"agent","action_type":"agent_created","actor":"tzk_ab12cd34",' +
      '"agent_id":"42","description":"agent \\"summariser\\" created","event_id":"evt-0001",' +
      '"execution_id":null,"input_summary":{"name":"summariser"},"is_violation":false,' +
      '"output_summary":null,"permission_state":{"preset":"READONLY","scopes":["inference:call"]},' +
      `"prev_hash":"${GENESIS_PREV_HASH}","recorded_at":"2025-03-01T12:00:00.123Z","sequence":1}`;
    assert.equal(recordHashPreimage(base, GENESIS_PREV_HASH), preimage);
    const expected = createHash('sha256').update(preimage, 'utf8').digest('hex');
    assert.equal(computeRecordHash(base, GENESIS_PREV_HASH), expected);
    assert.match(expected, /^[0-9a-f]{64}$/);
  });

  it('exports the hashed field list: everything but id, with prev_hash', () => {
    assert.deepEqual([...AUDIT_HASHED_FIELDS].sort(), [...Object.keys(base), 'prev_hash'].sort());
    assert.ok(!(AUDIT_HASHED_FIELDS as readonly string[]).includes('id'));
    assert.equal(GENESIS_PREV_HASH, '0'.repeat(64));
  });

  it('is deterministic and ignores key order, extra columns (id, hash) and Date versus ISO string', () => {
    const h = computeRecordHash(base, GENESIS_PREV_HASH);
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as unknown as AuditRecordFields;
    assert.equal(computeRecordHash(reordered, GENESIS_PREV_HASH), h);
    assert.equal(computeRecordHash({ ...base, id: 5, hash: 'x' } as AuditRecordFields, GENESIS_PREV_HASH), h);
    assert.equal(computeRecordHash({ ...base, recorded_at: new Date('2025-03-01T12:00:00.123Z') }, GENESIS_PREV_HASH), h);
  });

  it('changes when any single hashed field changes', () => {
    // Typed by the field list, so adding a hashed field without a case here fails to compile.
    const changed: Record<AuditHashedField, (f: AuditRecordFields) => [AuditRecordFields, string]> = {
      account_id: (f) => [{ ...f, account_id: '8' }, GENESIS_PREV_HASH],
      sequence: (f) => [{ ...f, sequence: 2 }, GENESIS_PREV_HASH],
      recorded_at: (f) => [{ ...f, recorded_at: '2025-03-01T12:00:00.124Z' }, GENESIS_PREV_HASH],
      event_id: (f) => [{ ...f, event_id: 'evt-0002' }, GENESIS_PREV_HASH],
      agent_id: (f) => [{ ...f, agent_id: null }, GENESIS_PREV_HASH],
      execution_id: (f) => [{ ...f, execution_id: '1' }, GENESIS_PREV_HASH],
      actor: (f) => [{ ...f, actor: 'system' }, GENESIS_PREV_HASH],
      action_type: (f) => [{ ...f, action_type: 'agent_updated' }, GENESIS_PREV_HASH],
      action_category: (f) => [{ ...f, action_category: 'key' }, GENESIS_PREV_HASH],
      description: (f) => [{ ...f, description: 'agent "summariser" created.' }, GENESIS_PREV_HASH],
      input_summary: (f) => [{ ...f, input_summary: { name: 'summariseR' } }, GENESIS_PREV_HASH],
      output_summary: (f) => [{ ...f, output_summary: '' }, GENESIS_PREV_HASH],
      permission_state: (f) => [{ ...f, permission_state: { scopes: [], preset: 'READONLY' } }, GENESIS_PREV_HASH],
      is_violation: (f) => [{ ...f, is_violation: true }, GENESIS_PREV_HASH],
      prev_hash: (f) => [f, `${'0'.repeat(63)}1`],
    };
    const original = computeRecordHash(base, GENESIS_PREV_HASH);
    const seen = new Set([original]);
    for (const field of AUDIT_HASHED_FIELDS) {
      const [fields, prev] = changed[field](base);
      const h = computeRecordHash(fields, prev);
      assert.notEqual(h, original, field);
      seen.add(h);
    }
    assert.equal(seen.size, AUDIT_HASHED_FIELDS.length + 1);
  });

  it('refuses values that would not hash the same after a database round trip', () => {
    const bad: [Partial<Record<keyof AuditRecordFields, unknown>>, RegExp][] = [
      [{ sequence: '1' }, /sequence must be an integer/],
      [{ sequence: 0 }, /sequence must be an integer >= 1/],
      [{ recorded_at: '2025-03-01T12:00:00Z' }, /recorded_at/],
      [{ recorded_at: '2025-03-01T13:00:00.123+01:00' }, /recorded_at/],
      [{ recorded_at: '2025-02-30T12:00:00.000Z' }, /recorded_at/],
      [{ recorded_at: new Date(Number.NaN) }, /recorded_at/],
      [{ agent_id: 42 }, /agent_id must be a non-empty string/],
      [{ account_id: '' }, /account_id/],
      [{ is_violation: 'false' }, /is_violation must be a boolean/],
      [{ input_summary: undefined }, /canonical JSON: \$\.input_summary is undefined/],
      [{ output_summary: 'cut\ud83d' }, /lone UTF-16 surrogate/],
    ];
    for (const [patch, message] of bad) {
      assert.throws(() => computeRecordHash({ ...base, ...patch } as AuditRecordFields, GENESIS_PREV_HASH), message);
    }
    assert.throws(() => computeRecordHash(base, 'A'.repeat(64)), /prev_hash must be 64 lowercase hex/);
    assert.throws(() => computeRecordHash(base, '0'.repeat(63)), /prev_hash/);
  });
});

describe('verifyChain', () => {
  it('accepts an intact chain and counts every record; an empty chain is valid', () => {
    assert.deepEqual(verifyChain(chain(10)), { valid: true, checked: 10 });
    assert.deepEqual(verifyChain([]), { valid: true, checked: 0 });
  });

  it('reports hash_mismatch at the record whose stored fields were edited', () => {
    const records = chain(10);
    records[3] = { ...records[3]!, description: 'nothing to see here' };
    assert.deepEqual(verifyChain(records), { valid: false, brokenAt: { sequence: 4, id: 103, reason: 'hash_mismatch' } });
  });

  it('reports prev_hash_mismatch at the next record when the edited record was also rehashed', () => {
    const records = chain(10);
    const edited = { ...records[3]!, is_violation: true };
    records[3] = { ...edited, hash: computeRecordHash(edited, edited.prev_hash) };
    assert.deepEqual(verifyChain(records), { valid: false, brokenAt: { sequence: 5, id: 104, reason: 'prev_hash_mismatch' } });
  });

  it('reports sequence_gap at the record after a deleted one, and at a duplicate or reordered one', () => {
    const records = chain(10);
    assert.deepEqual(verifyChain([...records.slice(0, 5), ...records.slice(6)]), {
      valid: false,
      brokenAt: { sequence: 7, id: 106, reason: 'sequence_gap' },
    });
    assert.deepEqual(verifyChain([...records.slice(0, 3), records[2]!, ...records.slice(3)]).valid, false);
    const swapped = [records[0]!, records[2]!, records[1]!];
    assert.deepEqual(verifyChain(swapped), { valid: false, brokenAt: { sequence: 3, id: 102, reason: 'sequence_gap' } });
  });

  it('catches a forged first record and a chain whose head was cut off', () => {
    const records = chain(3);
    const forgedPrev = `${'0'.repeat(63)}1`;
    const forged = { ...records[0]!, prev_hash: forgedPrev };
    const rehashed = { ...forged, hash: computeRecordHash(forged, forgedPrev) };
    assert.deepEqual(verifyChain([rehashed]), { valid: false, brokenAt: { sequence: 1, id: 100, reason: 'prev_hash_mismatch' } });
    assert.deepEqual(verifyChain(records.slice(1)), { valid: false, brokenAt: { sequence: 2, id: 101, reason: 'sequence_gap' } });
  });

  it('verifies page by page, or from an archived point, given where the first record must link', () => {
    const records = chain(10);
    const start = { sequence: 6, prevHash: records[4]!.hash };
    assert.deepEqual(verifyChain(records.slice(5), start), { valid: true, checked: 5 });
    assert.deepEqual(verifyChain(records.slice(5), { sequence: 6, prevHash: GENESIS_PREV_HASH }), {
      valid: false,
      brokenAt: { sequence: 6, id: 105, reason: 'prev_hash_mismatch' },
    });
  });

  it('reads any iterable and leaves id out of the break when records carry none', () => {
    const records = chain(4).map(({ id: _id, ...rest }) => rest);
    records[2] = { ...records[2]!, hash: 'f'.repeat(64) };
    function* stream(): Generator<ChainRecord> {
      yield* records;
    }
    assert.deepEqual(verifyChain(stream()), { valid: false, brokenAt: { sequence: 3, reason: 'hash_mismatch' } });
  });
});

describe('recordHashPreimage fast path', () => {
  it('is byte-identical to canonicalJson of the hashed fields for varied records', async () => {
    const { recordHashPreimage } = await import('../../../../shared/audit/record-hash.ts');
    const { canonicalJson } = await import('../../../../shared/audit/canonical-json.ts');
    const strings = ['', 'plain', 'quote " and \\ backslash', 'tab\tnewline\n\u0001ctl', 'é 中文 😀', '\u2028\u2029', '=cmd|x'];
    const values: unknown[] = [null, ...strings, { b: 1, a: [1, 'x', null, { z: true }] }, [3, 2, 1], 1e21, -0.5];
    for (let i = 0; i < 400; i++) {
      const pick = <T>(xs: readonly T[]) => xs[(i * 7 + xs.length * 3 + i * i) % xs.length]!;
      const fields = {
        account_id: String(1 + (i % 5)),
        sequence: 1 + i,
        recorded_at: new Date(Date.UTC(2026, 0, 1) + i * 1234).toISOString(),
        event_id: `ev-${i}`,
        agent_id: i % 3 === 0 ? null : String(i),
        execution_id: i % 4 === 0 ? null : String(i * 2),
        actor: 'node:n1',
        action_type: 'api_call',
        action_category: 'host_call',
        description: pick(strings),
        input_summary: pick(values),
        output_summary: values[(i + 3) % values.length],
        permission_state: { scopes: ['b:x', 'a:y'], config: { n: i, s: pick(strings) }, nested: values[i % values.length] },
        is_violation: i % 2 === 0,
      };
      const prev = (i % 16).toString(16).repeat(64);
      const expected = canonicalJson({ ...fields, prev_hash: prev });
      assert.equal(recordHashPreimage(fields, prev), expected);
    }
  });

  it('still rejects lone surrogates in text fields', async () => {
    const { recordHashPreimage } = await import('../../../../shared/audit/record-hash.ts');
    assert.throws(() =>
      recordHashPreimage(
        { account_id: '1', sequence: 1, recorded_at: '2026-01-01T00:00:00.000Z', event_id: 'e', agent_id: null, execution_id: null, actor: 'system', action_type: 'halt', action_category: 'control', description: 'bad \uD800', input_summary: null, output_summary: null, permission_state: {}, is_violation: false },
        '0'.repeat(64),
      ),
    );
  });
});

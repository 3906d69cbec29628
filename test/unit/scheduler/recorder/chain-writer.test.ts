// The chain writer against a real PostgreSQL: prepared batches, stale predictions,
// redeliveries, unknown accounts and concurrent writers.
import assert from 'node:assert/strict';
import { auditEvent } from '../../../../shared/audit/audit-event.ts';
import { AuditStore } from '../../../../shared/db/stores/audit-store.ts';
import { prepareChainBatch, writeChainBatch } from '../../../../scheduler/recorder/chain-writer.ts';
import { AuditPartitions } from '../../../../scheduler/recorder/audit-partitions.ts';
import { TestSystem, type TestAccount } from '../../../helpers/test-system.ts';

describe('writeChainBatch (real PostgreSQL)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  let account: TestAccount;
  let store: AuditStore;
  const events = (n: number, accountId = account.id) =>
    Array.from({ length: n }, (_, i) => auditEvent({ accountId, actor: 'node:unit', actionType: 'api_call', description: `e${i}` }));
  const write = (evs: ReturnType<typeof events>, prepared?: ReturnType<typeof prepareChainBatch>) =>
    system.db.transaction((tx) => writeChainBatch(tx, evs, new Date(), { prepared }));

  before(async () => {
    system = await TestSystem.create('chainwriter');
    account = await system.createAccount('chain');
    store = new AuditStore(system.db);
    await new AuditPartitions(system.db).ensure(new Date());
  });
  after(async () => system?.stop());

  it('uses a batch prepared against the right heads, and the chain verifies', async () => {
    const first = await write(events(3));
    assert.equal(first.records.length, 3);
    const prepared = prepareChainBatch(events(5), first.heads, new Date());
    const second = await write([...prepared.events], prepared);
    assert.equal(second.usedPrepared, true);
    assert.deepEqual(second.records.map((r) => r.sequence), [4, 5, 6, 7, 8]);
    assert.equal((await store.verifyChain(account.id)).valid, true);
  });

  it('re-chains a batch prepared against stale heads instead of forking', async () => {
    const heads = (await write(events(1))).heads;
    const stale = prepareChainBatch(events(4), heads, new Date());
    await write(events(2)); // moves the head underneath the prediction
    const outcome = await write([...stale.events], stale);
    assert.equal(outcome.usedPrepared, false);
    assert.equal((await store.verifyChain(account.id)).valid, true);
  });

  it('drops events already recorded, across and within batches', async () => {
    const evs = events(3);
    await write(evs);
    const again = await write([evs[0]!, evs[1]!, ...events(1), evs[2]!, evs[2]!]);
    assert.equal(again.duplicates, 4);
    assert.equal(again.records.length, 1);
    assert.equal((await store.verifyChain(account.id)).valid, true);
  });

  it('does not look up recorded events for a source that delivers each once (the outbox), and records what it is given', async () => {
    const batch = events(3);
    const first = await system.db.transaction((tx) => writeChainBatch(tx, batch, new Date(), { deliveredOnce: true }));
    assert.equal(first.records.length, 3);
    // The caller's word is taken: the same events again are not looked up, so they are chained again.
    const again = await system.db.transaction((tx) => writeChainBatch(tx, batch, new Date(), { deliveredOnce: true }));
    assert.deepEqual([again.records.length, again.duplicates], [3, 0]);
    assert.equal((await store.verifyChain(account.id)).valid, true);
  });

  it('returns events of unknown accounts as orphans and records the rest', async () => {
    const outcome = await write([...events(1, 987_654), ...events(2)]);
    assert.equal(outcome.orphans.length, 1);
    assert.equal(outcome.records.length, 2);
  });

  it('never forks a chain under concurrent writers', async () => {
    const other = await system.createAccount('chain-concurrent');
    await Promise.all(Array.from({ length: 8 }, () => write(events(50, other.id))));
    const status = await store.verifyChain(other.id);
    assert.deepEqual(status, { valid: true, checked: 8 * 50 });
  });
});

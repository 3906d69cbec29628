import assert from 'node:assert/strict';
import { pino } from 'pino';
import { auditEvent, type AuditEvent } from '../../../../shared/audit/audit-event.ts';
import type { AuditSink } from '../../../../shared/audit/audit-sink.ts';
import { AuditBuffer } from '../../../../executor-node/execution/audit-buffer.ts';

const log = pino({ level: 'silent' });

function events(n: number): AuditEvent[] {
  return Array.from({ length: n }, (_, i) => auditEvent({ accountId: 1, actor: 'node:n', actionType: 'api_call', description: `call ${i}` }));
}

/** Fails the first `failures` appends, then keeps everything it is given. */
class FlakySink implements AuditSink {
  readonly appended: AuditEvent[] = [];
  calls = 0;
  constructor(private failures: number) {}
  async append(batch: readonly AuditEvent[]): Promise<void> {
    this.calls += 1;
    if (this.failures-- > 0) throw new Error('redis said no');
    this.appended.push(...batch);
  }
}

describe('AuditBuffer', () => {
  it('flush resolves once everything added before it is in the sink, retrying failed appends with the same events', async () => {
    const sink = new FlakySink(2);
    const buffer = new AuditBuffer(sink, log, { retryMs: 5, intervalMs: 10_000 });
    const sent = events(3);
    buffer.add(sent);
    await buffer.flush();
    assert.equal(sink.calls, 3);
    assert.deepEqual(sink.appended.map((e) => e.event_id), sent.map((e) => e.event_id));
  });

  it('sends a full batch without waiting, in batches of at most maxBatch, in order', async () => {
    const sink = new FlakySink(0);
    const buffer = new AuditBuffer(sink, log, { maxBatch: 4, intervalMs: 10_000 });
    const sent = events(10);
    buffer.add(sent.slice(0, 4));
    await new Promise((r) => setImmediate(r));
    assert.equal(sink.appended.length, 4, 'a full batch went out on its own');
    buffer.add(sent.slice(4));
    await buffer.flush();
    assert.deepEqual(sink.appended.map((e) => e.event_id), sent.map((e) => e.event_id));
    assert.equal(sink.calls, 3);
  });

  it('sends a partial batch after the interval', async () => {
    const sink = new FlakySink(0);
    const buffer = new AuditBuffer(sink, log, { intervalMs: 20 });
    buffer.add(events(1));
    assert.equal(sink.appended.length, 0);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(sink.appended.length, 1);
  });
});

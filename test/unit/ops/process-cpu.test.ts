// The benchmarks' per-process CPU accounting, read from /proc on this (Linux) machine:
// a process's own CPU grows with work, a vanished pid reads null and is left out.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CpuMeter, groupCpuMs, pidsNamed, processCpuMs, threadCpuMs } from '../../../ops/bench/support/process-cpu.ts';

describe('process CPU accounting (/proc)', () => {
  const burn = (ms: number) => {
    const end = performance.now() + ms;
    let x = 0;
    while (performance.now() < end) x += Math.sqrt(x + 1);
    return x;
  };

  it('reads this process\'s CPU, which grows with work as process.cpuUsage says', () => {
    const before = processCpuMs(process.pid);
    const usageBefore = process.cpuUsage();
    assert.ok(before !== null && before >= 0);
    burn(300);
    const after = processCpuMs(process.pid)!;
    const used = (process.cpuUsage(usageBefore).user + process.cpuUsage(usageBefore).system) / 1000;
    // Ticks are 10 ms: allow a few ticks of difference.
    assert.ok(Math.abs(after - before - used) <= 40, `/proc says ${after - before} ms, cpuUsage ${used} ms`);
  });

  it('reads the main thread alone: work on another thread grows the process, not the main thread', async () => {
    const { Worker } = await import('node:worker_threads');
    const mainBefore = threadCpuMs(process.pid, process.pid)!;
    const processBefore = processCpuMs(process.pid)!;
    const worker = new Worker('const end = performance.now() + 300; while (performance.now() < end) {}', { eval: true });
    await new Promise((resolve) => worker.once('exit', resolve));
    const mainUsed = threadCpuMs(process.pid, process.pid)! - mainBefore;
    const processUsed = processCpuMs(process.pid)! - processBefore;
    assert.ok(processUsed - mainUsed >= 200, `the worker's 300 ms show in the process (${processUsed} ms) but not the main thread (${mainUsed} ms)`);
    assert.equal(threadCpuMs(process.pid, 2 ** 30), null);
  });

  it('finds processes by command name, and reads a pid that does not exist as null', () => {
    const comm = readFileSync(`/proc/${process.pid}/comm`, 'utf8').trim();
    assert.ok(pidsNamed(comm).includes(process.pid));
    assert.deepEqual(pidsNamed('no-such-command-name-here'), []);
    assert.equal(processCpuMs(2 ** 30), null);
    assert.equal(groupCpuMs([2 ** 30]), null);
  });

  it('reports CPU per unit of work for each group it could read, and leaves out the others', () => {
    const meter = new CpuMeter({ self: () => [process.pid], gone: () => [2 ** 30] });
    const usageBefore = process.cpuUsage();
    meter.start();
    burn(200);
    const rows = meter.perUnit(10);
    const used = (process.cpuUsage(usageBefore).user + process.cpuUsage(usageBefore).system) / 1000;
    assert.deepEqual(rows.map((r) => r.name), ['self']);
    // Wall time says little on a busy machine; the process's own account is the reference.
    assert.ok(Math.abs(rows[0]!.ms - used / 10) <= 4, `${rows[0]!.ms} ms per unit, cpuUsage says ${used / 10}`);
  });
});

// CPU time of whole processes (every thread), read from /proc, so a benchmark can say
// where the CPU of a run went: our processes by pid, PostgreSQL and Redis by name.
// Linux only; elsewhere the readings are null and the benchmark leaves them out.
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports utime and stime in clock ticks of USER_HZ, 100 per second on every mainstream build. */
const MS_PER_TICK = 10;

/**
 * utime + stime of one process in ms, with the CPU of its children that have exited and
 * been waited for (cutime + cstime), or null if it cannot be read (gone, or not Linux).
 * The children's share is what keeps a group honest when members come and go: a
 * PostgreSQL backend that exits within a phase takes its CPU with it, but the postmaster's
 * children total then holds it.
 */
export function processCpuMs(pid: number): number | null {
  return statCpuMs(`/proc/${pid}/stat`, true);
}

/** utime + stime of one thread of a process in ms (the main thread's id is the pid), or null. */
export function threadCpuMs(pid: number, tid: number): number | null {
  return statCpuMs(`/proc/${pid}/task/${tid}/stat`);
}

function statCpuMs(file: string, withExitedChildren = false): number | null {
  try {
    const stat = readFileSync(file, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = Number(fields[11]) + Number(fields[12]);
    return (withExitedChildren ? own + Number(fields[13]) + Number(fields[14]) : own) * MS_PER_TICK;
  } catch {
    return null;
  }
}

/** Pids of the processes whose command name (/proc/<pid>/comm) starts with `name`. */
export function pidsNamed(name: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith(name)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Summed CPU ms of a group of processes; null when none could be read. */
export function groupCpuMs(pids: readonly number[]): number | null {
  const readings = pids.map(processCpuMs).filter((ms): ms is number => ms !== null);
  return readings.length === 0 ? null : readings.reduce((a, b) => a + b, 0);
}

/** A named set of process groups whose CPU is read before and after a phase. */
export class CpuMeter {
  private readonly before = new Map<string, number | null>();

  constructor(private readonly groups: Readonly<Record<string, () => readonly number[]>>) {}

  start(): void {
    for (const [name, pids] of Object.entries(this.groups)) this.before.set(name, groupCpuMs(pids()));
  }

  /** CPU ms each group used since start(), per `per` units of work; groups that could not be read are left out. */
  perUnit(per: number): { name: string; ms: number }[] {
    const out: { name: string; ms: number }[] = [];
    for (const [name, pids] of Object.entries(this.groups)) {
      const start = this.before.get(name);
      const end = groupCpuMs(pids());
      if (start === null || start === undefined || end === null) continue;
      out.push({ name, ms: (end - start) / per });
    }
    return out;
  }
}

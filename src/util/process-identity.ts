// Whether the process that wrote a record (a run lock) is still running. A pid alone does not tell: pids are
// reused, and a killed process stays a zombie until its parent reaps it. On Linux the record also keeps the
// process's start time (field 22 of /proc/<pid>/stat, clock ticks since boot) and the boot it ran in, so a
// reused pid, a reboot and a zombie all read as gone. Elsewhere a live pid is taken to be the same process.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessIdentity {
  pid: number;
  host: string;
  /** When the process started, for people. */
  startedAt: string;
  /** "<boot id>:<start ticks>" on Linux: what tells this process from a later one with the same pid. */
  start?: string;
}

export type Liveness = 'running' | 'gone' | 'reused';

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** State and start ticks of a pid from /proc (after the command name, which may hold spaces and parentheses). */
function procStat(pid: number): { state: string; startTicks: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  const state = fields[0];
  const startTicks = fields[19];
  return state && startTicks ? { state, startTicks } : undefined;
}

function startOf(pid: number): string | undefined {
  const boot = bootId();
  const stat = procStat(pid);
  return boot && stat ? `${boot}:${stat.startTicks}` : undefined;
}

/** This process, as a lock records its owner. */
export function currentProcess(): ProcessIdentity {
  const start = startOf(process.pid);
  return {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    ...(start ? { start } : {}),
  };
}

/** Whether `owner` (on this host) is still running, has exited, or its pid now belongs to another process. */
export function liveness(owner: Pick<ProcessIdentity, 'pid' | 'start'>): Liveness {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return 'gone';
  }
  const stat = procStat(owner.pid);
  if (stat && (stat.state === 'Z' || stat.state === 'X')) return 'gone';
  if (owner.start !== undefined && stat) {
    const now = startOf(owner.pid);
    if (now !== undefined && now !== owner.start) return 'reused';
  }
  return 'running';
}

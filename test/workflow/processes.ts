// Real `cai` processes for workflow tests: the built CLI spawned as a user runs it, its worker processes
// found in /proc, and waits that poll for an event up to a deadline scaled by the suite's time factor.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { scaled } from '../support/time-scale.js';

export const REPO = join(import.meta.dirname, '../..');
const CLI = join(REPO, 'dist/cli/main.js');

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CaiProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<Exited>;
}

/** `node dist/cli/main.js ...args` (the built command: `npm run build` first). */
export function spawnCai(args: string[], env: NodeJS.ProcessEnv = process.env): CaiProcess {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" before these tests`);
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<Exited>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, pid: child.pid!, exited };
}

/** Run the built command to its end. */
export function runCai(args: string[], env?: NodeJS.ProcessEnv): Promise<Exited> {
  return spawnCai(args, env).exited;
}

interface ProcStat {
  state: string;
  ppid: number;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/** True while `pid` is a process that has not exited (a zombie has). */
export function isRunning(pid: number): boolean {
  const s = procStat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

/** The cai-worker processes whose parent is `pid`, from /proc. */
export function workersOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const child = Number(name);
    const s = procStat(child);
    if (s?.ppid !== pid || !isRunning(child)) continue;
    try {
      if (readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'cai-worker') out.push(child);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Poll `cond` every 25 ms until it holds; fails naming `what` after `ms` (scaled). Returns the wait in ms. */
export async function waitFor(what: string, cond: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  const deadline = t0 + scaled(ms);
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${scaled(ms)} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - t0;
}

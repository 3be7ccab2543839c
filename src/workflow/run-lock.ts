// The run lock: results/<run>/run.lock names the one coordinator that may write into a run. It is created
// with a conditional put (a complete file linked into place locally; If-None-Match on S3), so of two
// coordinators started on one run id the second is refused, naming the owner. A lock whose owner is gone is
// taken over: on the owner's host, when its pid no longer runs the process that took the lock (pid and
// start time); elsewhere, when the owner has not renewed it within its lease. The takeover is itself a
// conditional put on the stale version, so of two coordinators taking over, one wins.
//
// Every writer of the run checks the lock's token before it writes (guardResults): a worker process of a
// coordinator that died and was replaced never writes into the run the new coordinator owns. What remains
// is the instant between the check and the write, which the workers' own exit on their parent's death
// keeps from mattering in practice.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CaiError, DataError, ExitCode, UnavailableError } from '../errors.js';
import { describeKey } from '../data/dataset.js';
import type { Storage } from '../storage/index.js';
import { currentProcess, liveness, type ProcessIdentity } from '../util/process-identity.js';
import { CONTRACT_VERSION, resultKeys, type RunConfig } from './contracts.js';

/** How long a lock stays valid without renewal, for coordinators on another host; renewed every third of it. */
export const DEFAULT_LEASE_S = 60;
const MAX_LOCK_BYTES = 64 * 1024;
/** Rounds of read-examine-write before giving up on a lock that keeps changing under us. */
const ACQUIRE_ROUNDS = 4;

export const runLockSchema = z.object({
  schemaVersion: z.literal(CONTRACT_VERSION),
  kind: z.literal('cai-run-lock'),
  runId: z.string().min(1).max(64),
  token: z.string().regex(/^[0-9a-f]{32}$/),
  owner: z.object({
    pid: z.number().int().positive(),
    host: z.string().min(1).max(255),
    startedAt: z.string().max(40),
    start: z.string().max(200).optional(),
  }),
  since: z.string().max(40),
  renewedAt: z.string().max(40),
  leaseS: z.number().int().positive(),
});
export type RunLockRecord = z.infer<typeof runLockSchema>;

const ownerText = (r: RunLockRecord): string => `pid ${r.owner.pid} on ${r.owner.host} since ${r.since}`;

/** Another coordinator holds the run. */
export class RunLockedError extends UnavailableError {
  constructor(
    where: string,
    readonly holder: RunLockRecord,
  ) {
    super(`${where}: run ${holder.runId} is in use by ${ownerText(holder)}; wait for it to finish or stop it, or use another --run-id`);
  }
}

/** This coordinator's lock is no longer its own: another took the run over. */
export class RunLockLostError extends CaiError {
  constructor(where: string, runId: string, holder: RunLockRecord | undefined) {
    super(`${where}: run ${runId} ${holder ? `was taken over by ${ownerText(holder)}` : 'lost its lock (the file is gone)'}; this process writes nothing more into it`, ExitCode.unavailable);
  }
}

export interface RunLock {
  readonly key: string;
  readonly token: string;
  readonly record: RunLockRecord;
  /** The stale lock this one replaced, and why it was stale. */
  readonly tookOver?: { holder: RunLockRecord; reason: string };
  /** Check the lock is still ours and push its lease on; a RunLockLostError when it is not. */
  renew(): Promise<void>;
  /** Remove the lock if it is still ours (nothing happens otherwise). */
  release(): Promise<void>;
}

export interface AcquireOptions {
  leaseS?: number;
  /** Who takes the lock (default: this process). */
  owner?: ProcessIdentity;
  now?: () => Date;
}

function parseLock(body: Uint8Array, where: string): RunLockRecord {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new DataError(where, 'is not a run lock (not JSON); remove it if no run is using it');
  }
  const r = runLockSchema.safeParse(json);
  if (!r.success) throw new DataError(where, `is not a run lock (${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}); remove it if no run is using it`);
  return r.data;
}

/** Why `holder` no longer holds the run, or undefined while it does. */
export function staleReason(holder: RunLockRecord, me: Pick<ProcessIdentity, 'host'>, now: Date): string | undefined {
  if (holder.owner.host === me.host) {
    const state = liveness(holder.owner);
    if (state === 'gone') return `pid ${holder.owner.pid} is no longer running`;
    if (state === 'reused') return `pid ${holder.owner.pid} now belongs to another process`;
    return undefined;
  }
  const age = (now.getTime() - Date.parse(holder.renewedAt)) / 1000;
  return age > holder.leaseS ? `it was last renewed ${Math.round(age)} s ago, past its ${holder.leaseS} s lease` : undefined;
}

/** Read the lock; undefined when there is none. */
async function readLock(results: Storage, key: string): Promise<{ record: RunLockRecord; tag: string } | undefined> {
  const got = await results.getTagged(key, { maxBytes: MAX_LOCK_BYTES });
  return got && { record: parseLock(got.body, describeKey(results, key)), tag: got.tag };
}

/** Take the run's lock, taking over a stale one; a RunLockedError naming the owner when it is held. */
export async function acquireRunLock(results: Storage, runId: string, opts: AcquireOptions = {}): Promise<RunLock> {
  const key = resultKeys.lock(runId);
  const where = describeKey(results, key);
  const owner = opts.owner ?? currentProcess();
  const now = opts.now ?? (() => new Date());
  const leaseS = opts.leaseS ?? DEFAULT_LEASE_S;
  const at = now().toISOString();
  const record: RunLockRecord = { schemaVersion: CONTRACT_VERSION, kind: 'cai-run-lock', runId, token: randomBytes(16).toString('hex'), owner, since: at, renewedAt: at, leaseS };
  const body = JSON.stringify(record, null, 2) + '\n';

  for (let round = 0; round < ACQUIRE_ROUNDS; round++) {
    const current = await readLock(results, key);
    let tookOver: RunLock['tookOver'];
    if (current) {
      const reason = staleReason(current.record, owner, now());
      if (reason === undefined) throw new RunLockedError(where, current.record);
      tookOver = { holder: current.record, reason };
    }
    if (!(await results.putIf(key, body, current?.tag ?? null))) continue;
    // A server that ignores the condition lets the last writer win: read back to know which one that is.
    const mine = await readLock(results, key);
    if (mine?.record.token !== record.token) {
      if (mine) throw new RunLockedError(where, mine.record);
      continue;
    }
    return makeLock(results, key, record, tookOver);
  }
  const last = await readLock(results, key);
  if (last) throw new RunLockedError(where, last.record);
  throw new UnavailableError(`${where}: could not take the run lock (it kept changing); try again`);
}

function makeLock(results: Storage, key: string, record: RunLockRecord, tookOver: RunLock['tookOver']): RunLock {
  const ours = async (): Promise<boolean> => (await readLock(results, key).catch(() => undefined))?.record.token === record.token;
  return {
    key,
    token: record.token,
    record,
    ...(tookOver ? { tookOver } : {}),
    async renew() {
      await checkRunLock(results, record.runId, record.token);
      await results.put(key, JSON.stringify({ ...record, renewedAt: new Date().toISOString() }, null, 2) + '\n');
    },
    async release() {
      if (await ours()) await results.delete(key);
    },
  };
}

/** A RunLockLostError unless the run's lock holds `token`. */
export async function checkRunLock(results: Storage, runId: string, token: string): Promise<void> {
  const key = resultKeys.lock(runId);
  const current = await readLock(results, key);
  if (current?.record.token !== token) throw new RunLockLostError(describeKey(results, key), runId, current?.record);
}

/**
 * The run's results storage, for a task of the run: when the run carries a lock token, every write first
 * checks that the lock still holds it (a RunLockLostError otherwise). Reads go straight through.
 */
export function guardResults(results: Storage, run: Pick<RunConfig, 'runId' | 'lock'>): Storage {
  const token = run.lock?.token;
  if (!token) return results;
  const check = (): Promise<void> => checkRunLock(results, run.runId, token);
  return {
    kind: results.kind,
    location: results.location,
    get: (key, opts) => results.get(key, opts),
    getTagged: (key, opts) => results.getTagged(key, opts),
    head: (key) => results.head(key),
    list: (prefix) => results.list(prefix),
    put: async (key, body) => (await check(), results.put(key, body)),
    putIf: async (key, body, ifTag) => (await check(), results.putIf(key, body, ifTag)),
    delete: async (key) => (await check(), results.delete(key)),
  };
}

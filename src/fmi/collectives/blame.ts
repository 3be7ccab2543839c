// Finding the rank actually missing after a collective times out while every rank is present (the channel
// names absent ranks itself: Channel.absentRanks). Each timed-out rank tells its partners in the operation
// which ranks it was waiting for, and keeps listening (until the operation's deadline) to the ranks it was
// waiting for: a rank that is itself stuck answers with its own culprits, a rank that is stuck elsewhere
// never answers and so stays blamed. Updates travel one hop per message, so chains resolve quickly, but
// they are best effort: on a loaded machine a rank may still name the live peer it waited on.
import type { Channel } from '../channel.js';
import { collectiveTag, STEPS_PER_OP } from './context.js';

/** The step reserved in every operation's tag space for timeout notices. */
export const BLAME_STEP = STEPS_PER_OP - 1;
const MAX_UPDATES = 8;

function encodeRanks(ranks: Iterable<number>): Uint8Array {
  const list = [...ranks];
  const out = new Uint8Array(4 * list.length);
  const dv = new DataView(out.buffer);
  list.forEach((r, i) => dv.setUint32(4 * i, r, true));
  return out;
}

function decodeRanks(bytes: Uint8Array, n: number): number[] | undefined {
  if (bytes.length % 4 !== 0 || bytes.length > 4 * n) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 4) {
    const r = dv.getUint32(i, true);
    if (r >= n) return undefined;
    out.push(r);
  }
  return out;
}

/**
 * Exchange timeout notices for operation `seq` until `until`; returns the ranks to blame (never empty:
 * falls back to `waitedOn`).
 */
export async function resolveBlame(ch: Channel, seq: number, partners: readonly number[], waitedOn: readonly number[], until: number): Promise<number[]> {
  const tag = collectiveTag(seq, BLAME_STEP);
  const me = ch.rank;
  const heard = new Map<number, number[]>();
  const compute = (): number[] => {
    const out = new Set<number>();
    for (const s of waitedOn) for (const r of heard.get(s) ?? [s]) if (r !== me) out.add(r);
    return out.size ? [...out].sort((a, b) => a - b) : [...waitedOn];
  };
  let blame = compute();
  // Notices are best effort, but awaited before returning so none is still in flight when the caller
  // moves on (or closes the channel).
  const sends: Promise<unknown>[] = [];
  const tell = () => {
    const bytes = encodeRanks(blame);
    for (const p of partners) sends.push(ch.send(p, tag, bytes, until).catch(() => {}));
  };
  tell();
  let updates = 0;
  await Promise.all(
    [...new Set(waitedOn)].map(async (s) => {
      for (;;) {
        let frame: Uint8Array;
        try {
          frame = await ch.recv(s, tag, until);
        } catch {
          return;
        }
        const ranks = decodeRanks(frame, ch.worldSize);
        if (!ranks) continue;
        heard.set(s, ranks);
        const next = compute();
        if (next.join() !== blame.join()) {
          blame = next;
          if (updates++ < MAX_UPDATES) tell();
        }
      }
    }),
  );
  await Promise.all(sends);
  return blame;
}

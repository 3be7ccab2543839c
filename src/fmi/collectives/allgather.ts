import { packList, unpackList } from '../codec.js';
import { FmiProtocolError } from '../errors.js';
import type { Ctx } from './context.js';
import { binomialBcast } from './bcast.js';
import { binomialGather } from './gather.js';

/**
 * Bruck allgather: in round k rank r passes the blocks it holds (those of r..r+2^k-1) to r-2^k and gets
 * those of r+2^k.. from r+2^k. ceil(log2 n) rounds, n·ceil(log2 n) messages.
 */
export async function bruckAllgather(ctx: Ctx, item: Uint8Array, step: number): Promise<Uint8Array[]> {
  const { rank, size: n } = ctx;
  const blocks: Uint8Array[] = [item];
  for (let k = 0, d = 1; d < n; k++, d *= 2) {
    const count = Math.min(d, n - d);
    const source = (rank + d) % n;
    const from = `allgather frame from rank ${source}`;
    const got = unpackList(await ctx.exchange((rank - d + n) % n, source, step + k, packList(blocks.slice(0, count))), from);
    if (got.length !== count) throw new FmiProtocolError(`${from}: ${got.length} items, expected ${count}`);
    for (const b of got) blocks.push(b);
  }
  const out: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) out[(rank + i) % n] = blocks[i];
  return out;
}

/** Gather to rank 0, then broadcast the list: 2·ceil(log2 n) rounds, 2(n-1) messages. */
export async function gatherBcastAllgather(ctx: Ctx, item: Uint8Array, step: number): Promise<Uint8Array[]> {
  const items = await binomialGather(ctx, item, 0, step);
  const packed = await binomialBcast(ctx, items ? packList(items) : undefined, 0, step + 64);
  if (items) return items;
  const out = unpackList(packed, 'allgather frame from rank 0');
  if (out.length !== ctx.size) throw new FmiProtocolError(`allgather frame from rank 0: ${out.length} items, expected ${ctx.size}`);
  return out;
}

// The cost breakdown of a run as a chart: one bar per item of the bill, with its USD and its share, so
// that what dominates is seen at once (the arithmetic of each item is in the page's table).
import { fmtUsd } from '../../cost/format.js';
import type { PlotSpec } from './common.js';
import { barPlot } from './series.js';

/** An itemised bill as the summary stores it (CostBreakdown of src/cost/lambda-cost.ts). */
export interface CostLike {
  totalUsd: number;
  items: { label?: string; id?: string; quantity?: number; unit?: string; usd: number; arithmetic?: string }[];
  arithmetic?: string;
  pricesSource?: string;
}

export function isCostLike(c: unknown): c is CostLike {
  const o = c as CostLike;
  return !!o && typeof o === 'object' && typeof o.totalUsd === 'number' && Array.isArray(o.items) && o.items.every((i) => i && typeof i.usd === 'number');
}

export function costBreakdownPlot(cost: CostLike, basis: string): PlotSpec {
  const share = (usd: number) => (cost.totalUsd > 0 ? ` (${((usd / cost.totalUsd) * 100).toFixed(usd / cost.totalUsd < 0.01 ? 2 : 0)}%)` : '');
  const bars = cost.items.map((i) => ({ label: i.label ?? i.id ?? '?', value: i.usd, text: `${fmtUsd(i.usd)} USD${share(i.usd)}` }));
  const top = [...cost.items].sort((a, b) => b.usd - a.usd)[0];
  return barPlot(bars, {
    x: { title: 'USD' },
    caption: `${basis}: ${fmtUsd(cost.totalUsd)} USD in ${cost.items.length} item${cost.items.length === 1 ? '' : 's'}${top ? `, most of it ${top.label ?? top.id} (${fmtUsd(top.usd)} USD)` : ''}; each item's arithmetic is in the cost table.`,
  });
}

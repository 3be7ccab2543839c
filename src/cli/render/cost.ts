// The one-line cost of a run or an estimate as people read it: each term named, then the total, e.g.
// "0.0182 USD = Lambda compute (ranks) 0.018 + Step Functions state transitions 0.0002 + ...". The items'
// own arithmetic (quantity x price) stays in the JSON and the report's cost table.
import { fmtUsd } from '../../cost/format.js';

export interface CostTerms {
  totalUsd: number;
  items: readonly { label: string; usd: number }[];
}

/** Terms largest first; ones that round to nothing at 3 significant digits of the total are counted, not named. */
export function costLine(cost: CostTerms): string {
  if (cost.items.length === 0) return `${fmtUsd(cost.totalUsd)} USD`;
  const sorted = [...cost.items].sort((a, b) => b.usd - a.usd);
  const floor = cost.totalUsd * 5e-4;
  const named = sorted.filter((i, k) => k === 0 || i.usd >= floor);
  const rest = sorted.slice(named.length);
  const restUsd = rest.reduce((s, i) => s + i.usd, 0);
  const terms = named.map((i) => `${i.label} ${fmtUsd(i.usd)}`);
  if (rest.length) terms.push(`${rest.length} smaller item${rest.length === 1 ? '' : 's'} ${fmtUsd(restUsd)}`);
  return `${fmtUsd(cost.totalUsd)} USD = ${terms.join(' + ')}`;
}

// Number formatting for cost arithmetic shown to people: short, exact enough to check by hand.

/** A plain number with at most `digits` significant digits and no trailing zeros (no exponent for prices). */
export function fmtNum(x: number, digits = 6): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  const mag = Math.floor(Math.log10(Math.abs(x)));
  const decimals = Math.min(20, Math.max(0, digits - 1 - mag));
  return trimZeros(x.toFixed(decimals));
}

/** A price exactly as written (prices like 0.0000166667 must not be rounded). */
export function fmtPrice(x: number): string {
  return fmtNum(x, 12);
}

/** Money: 3 significant digits below 1, cents above. */
export function fmtUsd(x: number): string {
  if (x === 0) return '0';
  if (Math.abs(x) >= 1) return x.toFixed(2);
  return fmtNum(x, 3);
}

/** Counts with thousands separators. */
export function fmtCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

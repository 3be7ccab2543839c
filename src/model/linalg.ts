// Dense linear algebra for the ridge fit, in float64: Cholesky factorization and solves.

/** In-place Cholesky of a symmetric positive-definite d x d matrix (row-major): lower triangle becomes L. */
export function cholesky(a: Float64Array, d: number): void {
  for (let j = 0; j < d; j++) {
    const rj = j * d;
    let s = a[rj + j]!;
    for (let k = 0; k < j; k++) s -= a[rj + k]! * a[rj + k]!;
    if (!(s > 0)) throw new RangeError(`matrix is not positive definite (pivot ${j} = ${s})`);
    const l = Math.sqrt(s);
    a[rj + j] = l;
    for (let i = j + 1; i < d; i++) {
      const ri = i * d;
      let t = a[ri + j]!;
      for (let k = 0; k < j; k++) t -= a[ri + k]! * a[rj + k]!;
      a[ri + j] = t / l;
    }
  }
}

/** Solve L L^T x = b for x, given the factor from `cholesky`. */
export function choleskySolve(l: Float64Array, d: number, b: Float64Array): Float64Array {
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i]!;
    const ri = i * d;
    for (let k = 0; k < i; k++) s -= l[ri + k]! * y[k]!;
    y[i] = s / l[ri + i]!;
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < d; k++) s -= l[k * d + i]! * x[k]!;
    x[i] = s / l[i * d + i]!;
  }
  return x;
}

/** Ridge solution of (G + lambda I) w = r, G symmetric (d x d, row-major float64). */
export function ridgeSolve(gram: Float64Array, rhs: Float64Array, d: number, lambda: number): Float64Array {
  const a = Float64Array.from(gram);
  for (let i = 0; i < d; i++) a[i * d + i]! += lambda;
  cholesky(a, d);
  return choleskySolve(a, d, rhs);
}

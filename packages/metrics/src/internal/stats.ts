// Summary statistics over whole images, in float64 with numpy's operation order where it matters
// (mean first, then centred sums), so results agree with the references to ~1e-15 relative.

export function mean(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s / x.length;
}

/** Population standard deviation (numpy `std`). */
export function std(x: Float64Array): number {
  const m = mean(x);
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - m;
    s += d * d;
  }
  return Math.sqrt(s / x.length);
}

export function minMax(x: Float64Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Round half to even (numpy `round`). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Round half away from zero (MATLAB `round`, integer casts). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** uint8 levels 0..255 for histogram metrics: round half to even, then clip (non-finite -> 0). */
export function toLevels(x: Float64Array): Int32Array {
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const r = roundHalfEven(v);
    out[i] = Math.min(255, Math.max(0, r)); // NaN stores as 0 in the Int32Array
  }
  return out;
}

/** 256-bin histogram of levels 0..255. */
export function histogram256(levels: Int32Array): Float64Array {
  const h = new Float64Array(256);
  for (let i = 0; i < levels.length; i++) h[levels[i]!]!++;
  return h;
}

/** Shannon entropy of counts with `log` (natural log or log2 passed in), skipping empty bins. */
export function entropyOfCounts(counts: Float64Array, total: number, log: (x: number) => number): number {
  let e = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0) {
      const p = c / total;
      e -= p * log(p);
    }
  }
  return e;
}

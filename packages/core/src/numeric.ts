// Small numeric helpers that reproduce numpy's exact arithmetic, so timestep plans built here are
// bit-identical to the reference (diffusers) ones: round-half-to-even, linspace, arange, interp.

/** numpy.round / Python round: halves go to the even neighbour (2.5 -> 2, 3.5 -> 4). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/** numpy.linspace(start, stop, num) (endpoint included): start + i*step, last value exactly stop. */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num <= 0) return [];
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = new Array<number>(num);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/** torch.linspace (float64): the first half counts up from start, the second half down from end. */
export function torchLinspace(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (steps - 1);
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < halfway ? start + step * i : end - step * (steps - i - 1);
  return out;
}

/** numpy.arange(start, stop, step) for floats: length ceil((stop-start)/step), values start + i*delta. */
export function arange(start: number, stop: number, step: number): number[] {
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Array<number>(n);
  if (n === 0) return out;
  out[0] = start;
  // numpy fills with the delta between its first two values, which can differ from step by an ulp.
  const delta = start + step - start;
  for (let i = 1; i < n; i++) out[i] = start + i * delta;
  return out;
}

/** numpy.interp(x, [0, 1, ..., n-1], fp): linear interpolation on an integer grid, clamped at the ends. */
export function interpOnGrid(x: number, fp: ArrayLike<number>): number {
  const n = fp.length;
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return fp[0]!;
  if (x >= n - 1) return fp[n - 1]!;
  const j = Math.floor(x);
  if (x === j) return fp[j]!;
  const slope = (fp[j + 1]! - fp[j]!) / 1;
  const r = slope * (x - j) + fp[j]!;
  return Number.isNaN(r) ? slope * (x - (j + 1)) + fp[j + 1]! : r;
}

/**
 * The fractional timestep whose log-sigma matches `sigma` (diffusers `_sigma_to_t`): linear
 * interpolation of log sigma between the two bracketing table entries, clamped to the table.
 */
export function sigmaToTimestep(sigma: number, logSigmas: ArrayLike<number>): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  const n = logSigmas.length;
  let low = 0;
  // Index of the last entry not above log sigma (the table increases with t); 0 when none is.
  for (let k = 0; k < n; k++) if (logSigma - logSigmas[k]! >= 0) low = k;
  if (low > n - 2) low = n - 2;
  const lo = logSigmas[low]!;
  const hi = logSigmas[low + 1]!;
  let w = (lo - logSigma) / (lo - hi);
  w = Math.min(Math.max(w, 0), 1);
  return (1 - w) * low + w * (low + 1);
}

/** torch.lerp(start, end, 0.5) evaluated the way torch does (from the end for weight >= 0.5). */
export function lerpHalf(start: number, end: number): number {
  return end - (end - start) * 0.5;
}

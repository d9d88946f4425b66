// Elementwise kernels for samplers: linear combinations written as plain loops over typed arrays, no
// allocation per element or per call. `out` may alias any input. Coefficients are doubles; the
// arrays may be Float32Array (images) or Float64Array (reference checks).
import type { FloatArray } from "./tensor.js";

function check(out: FloatArray, ...xs: FloatArray[]): number {
  const n = out.length;
  for (const x of xs) {
    if (x.length !== n) throw new RangeError(`array length mismatch: ${x.length} vs ${n}`);
  }
  return n;
}

/** out = a*x */
export function scale(out: FloatArray, a: number, x: FloatArray): FloatArray {
  const n = check(out, x);
  for (let i = 0; i < n; i++) out[i] = a * x[i]!;
  return out;
}

/** out = a*x + b*y */
export function lin2(out: FloatArray, a: number, x: FloatArray, b: number, y: FloatArray): FloatArray {
  const n = check(out, x, y);
  for (let i = 0; i < n; i++) out[i] = a * x[i]! + b * y[i]!;
  return out;
}

/** out = a*x + b*y + c*z */
export function lin3(
  out: FloatArray,
  a: number,
  x: FloatArray,
  b: number,
  y: FloatArray,
  c: number,
  z: FloatArray,
): FloatArray {
  const n = check(out, x, y, z);
  for (let i = 0; i < n; i++) out[i] = a * x[i]! + b * y[i]! + c * z[i]!;
  return out;
}

/** out = a*x + b*y + c*z + d*w */
export function lin4(
  out: FloatArray,
  a: number,
  x: FloatArray,
  b: number,
  y: FloatArray,
  c: number,
  z: FloatArray,
  d: number,
  w: FloatArray,
): FloatArray {
  const n = check(out, x, y, z, w);
  for (let i = 0; i < n; i++) out[i] = a * x[i]! + b * y[i]! + c * z[i]! + d * w[i]!;
  return out;
}

/** out = a*x + b*y + c*z + d*w + e*v */
export function lin5(
  out: FloatArray,
  a: number,
  x: FloatArray,
  b: number,
  y: FloatArray,
  c: number,
  z: FloatArray,
  d: number,
  w: FloatArray,
  e: number,
  v: FloatArray,
): FloatArray {
  const n = check(out, x, y, z, w, v);
  for (let i = 0; i < n; i++) out[i] = a * x[i]! + b * y[i]! + c * z[i]! + d * w[i]! + e * v[i]!;
  return out;
}

/** out = sum_k coeffs[k] * xs[k] (any number of terms). */
export function linN(out: FloatArray, coeffs: readonly number[], xs: readonly FloatArray[]): FloatArray {
  if (coeffs.length !== xs.length) throw new RangeError("linN needs one coefficient per array");
  switch (xs.length) {
    case 1:
      return scale(out, coeffs[0]!, xs[0]!);
    case 2:
      return lin2(out, coeffs[0]!, xs[0]!, coeffs[1]!, xs[1]!);
    case 3:
      return lin3(out, coeffs[0]!, xs[0]!, coeffs[1]!, xs[1]!, coeffs[2]!, xs[2]!);
    case 4:
      return lin4(out, coeffs[0]!, xs[0]!, coeffs[1]!, xs[1]!, coeffs[2]!, xs[2]!, coeffs[3]!, xs[3]!);
    case 5:
      return lin5(
        out,
        coeffs[0]!,
        xs[0]!,
        coeffs[1]!,
        xs[1]!,
        coeffs[2]!,
        xs[2]!,
        coeffs[3]!,
        xs[3]!,
        coeffs[4]!,
        xs[4]!,
      );
    default: {
      const n = check(out, ...xs);
      // Accumulate in a temporary only when out aliases an input.
      const acc = xs.includes(out) ? new Float64Array(n) : out;
      acc.fill(0);
      for (let k = 0; k < xs.length; k++) {
        const c = coeffs[k]!;
        const x = xs[k]!;
        for (let i = 0; i < n; i++) acc[i] = acc[i]! + c * x[i]!;
      }
      if (acc !== out) out.set(acc);
      return out;
    }
  }
}

/** Clamps every element of x to [lo, hi] in place. */
export function clampInPlace(x: FloatArray, lo: number, hi: number): FloatArray {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    x[i] = v < lo ? lo : v > hi ? hi : v;
  }
  return x;
}

/** Largest |a[i] - b[i]|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`array length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > m || Number.isNaN(d)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}

/** Largest |a[i]|. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

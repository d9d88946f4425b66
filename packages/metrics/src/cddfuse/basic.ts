// The CDDFuse / DDFM Python evaluator (MMIF-CDDFuse utils/Evaluator.py): statistics of F and
// pixel-level comparisons with A and B, float64 on the 0..255 scale.

import type { Gray } from "../plane.js";
import { corr, entropyOfCounts, histogram256, mean, mse, std, toLevels } from "../internal/stats.js";

/** Entropy (bits) of F rounded to uint8 levels. */
export function en(f: Gray): number {
  const levels = toLevels(f.d);
  return entropyOfCounts(histogram256(levels), levels.length, Math.log2);
}

export function sd(f: Gray): number {
  return std(f.d);
}

/** Spatial frequency: each squared-difference mean over its own difference array. */
export function sf(f: Gray): number {
  const { w, h, d } = f;
  let rs = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 1; x < w; x++) {
      const t = d[y * w + x]! - d[y * w + x - 1]!;
      rs += t * t;
    }
  }
  let cs = 0;
  for (let y = 1; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = d[y * w + x]! - d[(y - 1) * w + x]!;
      cs += t * t;
    }
  }
  return Math.sqrt(rs / (h * (w - 1)) + cs / ((h - 1) * w));
}

/** Sum over all pixels of sqrt((Gx^2+Gy^2)/2) with MATLAB `gradient` differences. */
export function gradientSum(f: Gray): number {
  const { w, h, d } = f;
  if (w < 2 || h < 2) return Number.NaN;
  let s = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = y * w + x;
      const gx = x === 0 ? d[o + 1]! - d[o]! : x === w - 1 ? d[o]! - d[o - 1]! : (d[o + 1]! - d[o - 1]!) / 2;
      const gy = y === 0 ? d[o + w]! - d[o]! : y === h - 1 ? d[o]! - d[o - w]! : (d[o + w]! - d[o - w]!) / 2;
      s += Math.sqrt((gx * gx + gy * gy) / 2);
    }
  }
  return s;
}

export function ag(f: Gray): number {
  return gradientSum(f) / (f.w * f.h);
}

/** (mse(A,F) + mse(B,F)) / 2. */
export function mseAB(a: Gray, b: Gray, f: Gray): number {
  return (mse(a.d, f.d) + mse(b.d, f.d)) / 2;
}

export function psnr(a: Gray, b: Gray, f: Gray): number {
  let max = -Infinity;
  for (let i = 0; i < f.d.length; i++) if (f.d[i]! > max) max = f.d[i]!;
  return 10 * Math.log10((max * max) / mseAB(a, b, f));
}

export function cc(a: Gray, b: Gray, f: Gray): number {
  return (corr(a.d, f.d) + corr(b.d, f.d)) / 2;
}

/** corr(A, F-B) + corr(B, F-A). */
export function scd(a: Gray, b: Gray, f: Gray): number {
  const fa = new Float64Array(f.d.length);
  const fb = new Float64Array(f.d.length);
  for (let i = 0; i < fa.length; i++) {
    fa[i] = f.d[i]! - a.d[i]!;
    fb[i] = f.d[i]! - b.d[i]!;
  }
  return corr(a.d, fb) + corr(b.d, fa);
}

export { mean };

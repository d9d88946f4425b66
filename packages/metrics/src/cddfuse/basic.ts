// The CDDFuse / DDFM Python evaluator (MMIF-CDDFuse utils/Evaluator.py): statistics of F and
// pixel-level comparisons with A and B, float64 on the 0..255 scale.

import { sharedOfTriple } from "../internal/shared.js";
import { entropyOfCounts, mean, std } from "../internal/stats.js";
import type { Gray } from "../plane.js";
import { levelCountsOfF, sharedLevelJoints } from "./mi.js";

/** Entropy (bits) of F rounded to uint8 levels (round half to even, clipped), in one pass. */
export function en(f: Gray): number {
  const hist = new Float64Array(256);
  const d = f.d;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    let r = Math.round(v);
    if (r - v === 0.5 && r % 2 !== 0) r -= 1; // numpy rounds half to even
    hist[r >= 0 ? Math.min(r, 255) : 0]!++; // negative and NaN -> 0
  }
  return entropyOfCounts(hist, d.length, Math.log2);
}

/**
 * EN for the CDDFuse set: when A, B and F hold integers 0..255, rounding changes nothing and F's
 * histogram is the row sums of the level tables MI builds, so the two share one pass.
 */
export function enOfTriple(a: Gray, b: Gray, f: Gray): number {
  const levels = sharedLevelJoints(a, b, f);
  return levels ? entropyOfCounts(levelCountsOfF(levels.fa), f.d.length, Math.log2) : en(f);
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

/**
 * Everything SD, MSE, PSNR, CC and SCD need, in two passes over A, B and F: the first takes the sums
 * (means), the squared errors and max(F); the second the centred sums. Each sum is accumulated in the
 * same order as numpy's mean-then-centred-sums, so every metric keeps its separate-pass value.
 */
export interface PixelMoments {
  /** Sums of (A-F)^2 and (B-F)^2. */
  readonly errA: number;
  readonly errB: number;
  readonly maxF: number;
  /** Centred sums: sum((A-mA)(F-mF)), sum((A-mA)^2), ... */
  readonly af: number;
  readonly bf: number;
  readonly aa: number;
  readonly bb: number;
  readonly ff: number;
  /** SCD: sum((A-mA)(F-B-m(F-B))), sum((B-mB)(F-A-m(F-A))), and the variance sums of F-A and F-B. */
  readonly aFb: number;
  readonly bFa: number;
  readonly fafa: number;
  readonly fbfb: number;
}

function computeMoments(a: Gray, b: Gray, f: Gray): PixelMoments {
  const A = a.d;
  const B = b.d;
  const F = f.d;
  const n = F.length;
  let sa = 0;
  let sb = 0;
  let sf = 0;
  let sfa = 0;
  let sfb = 0;
  let errA = 0;
  let errB = 0;
  let maxF = -Infinity;
  for (let i = 0; i < n; i++) {
    const va = A[i]!;
    const vb = B[i]!;
    const v = F[i]!;
    sa += va;
    sb += vb;
    sf += v;
    sfa += v - va;
    sfb += v - vb;
    const da = va - v;
    const db = vb - v;
    errA += da * da;
    errB += db * db;
    if (v > maxF) maxF = v;
  }
  const ma = sa / n;
  const mb = sb / n;
  const mf = sf / n;
  const mfa = sfa / n;
  const mfb = sfb / n;
  let af = 0;
  let bf = 0;
  let aa = 0;
  let bb = 0;
  let ff = 0;
  let aFb = 0;
  let bFa = 0;
  let fafa = 0;
  let fbfb = 0;
  for (let i = 0; i < n; i++) {
    const va = A[i]!;
    const vb = B[i]!;
    const v = F[i]!;
    const da = va - ma;
    const db = vb - mb;
    const df = v - mf;
    const dfa = v - va - mfa;
    const dfb = v - vb - mfb;
    af += da * df;
    bf += db * df;
    aa += da * da;
    bb += db * db;
    ff += df * df;
    aFb += da * dfb;
    bFa += db * dfa;
    fafa += dfa * dfa;
    fbfb += dfb * dfb;
  }
  return { errA, errB, maxF, af, bf, aa, bb, ff, aFb, bFa, fafa, fbfb };
}

/** The moments of a triple, shared by all metrics of one evaluate() call. */
export function pixelMoments(a: Gray, b: Gray, f: Gray): PixelMoments {
  return sharedOfTriple(a, b, f, computeMoments);
}

/** Population standard deviation of F, from the shared moments. */
export function sdOfTriple(a: Gray, b: Gray, f: Gray): number {
  return Math.sqrt(pixelMoments(a, b, f).ff / f.d.length);
}

/** (mse(A,F) + mse(B,F)) / 2. */
export function mseAB(a: Gray, b: Gray, f: Gray): number {
  const { errA, errB } = pixelMoments(a, b, f);
  const n = f.d.length;
  return (errA / n + errB / n) / 2;
}

export function psnr(a: Gray, b: Gray, f: Gray): number {
  const { errA, errB, maxF } = pixelMoments(a, b, f);
  const n = f.d.length;
  return 10 * Math.log10((maxF * maxF) / ((errA / n + errB / n) / 2));
}

export function cc(a: Gray, b: Gray, f: Gray): number {
  const { af, bf, aa, bb, ff } = pixelMoments(a, b, f);
  return (af / Math.sqrt(aa * ff) + bf / Math.sqrt(bb * ff)) / 2;
}

/** corr(A, F-B) + corr(B, F-A). */
export function scd(a: Gray, b: Gray, f: Gray): number {
  const { aFb, bFa, aa, bb, fafa, fbfb } = pixelMoments(a, b, f);
  return aFb / Math.sqrt(aa * fbfb) + bFa / Math.sqrt(bb * fafa);
}

export { mean };

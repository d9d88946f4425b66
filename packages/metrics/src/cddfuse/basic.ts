// The CDDFuse / DDFM Python evaluator (MMIF-CDDFuse utils/Evaluator.py): statistics of F and
// pixel-level comparisons with A and B, float64 on the 0..255 scale.

import { entropyOfCounts, mean, std } from "../internal/stats.js";
import type { Gray } from "../plane.js";

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

/** Sums of (A-F)^2 and (B-F)^2, and max(F), in one pass. */
function squaredErrors(a: Gray, b: Gray, f: Gray): { sa: number; sb: number; max: number } {
  let sa = 0;
  let sb = 0;
  let max = -Infinity;
  for (let i = 0; i < f.d.length; i++) {
    const v = f.d[i]!;
    const da = a.d[i]! - v;
    const db = b.d[i]! - v;
    sa += da * da;
    sb += db * db;
    if (v > max) max = v;
  }
  return { sa, sb, max };
}

/** (mse(A,F) + mse(B,F)) / 2. */
export function mseAB(a: Gray, b: Gray, f: Gray): number {
  const { sa, sb } = squaredErrors(a, b, f);
  const n = f.d.length;
  return (sa / n + sb / n) / 2;
}

export function psnr(a: Gray, b: Gray, f: Gray): number {
  const { sa, sb, max } = squaredErrors(a, b, f);
  const n = f.d.length;
  return 10 * Math.log10((max * max) / ((sa / n + sb / n) / 2));
}

export function cc(a: Gray, b: Gray, f: Gray): number {
  const ma = mean(a.d);
  const mb = mean(b.d);
  const mf = mean(f.d);
  let saf = 0;
  let sbf = 0;
  let saa = 0;
  let sbb = 0;
  let sff = 0;
  for (let i = 0; i < f.d.length; i++) {
    const da = a.d[i]! - ma;
    const db = b.d[i]! - mb;
    const df = f.d[i]! - mf;
    saf += da * df;
    sbf += db * df;
    saa += da * da;
    sbb += db * db;
    sff += df * df;
  }
  return (saf / Math.sqrt(saa * sff) + sbf / Math.sqrt(sbb * sff)) / 2;
}

/** corr(A, F-B) + corr(B, F-A), two passes and no temporaries. */
export function scd(a: Gray, b: Gray, f: Gray): number {
  const n = f.d.length;
  let sa = 0;
  let sb = 0;
  let sfa = 0;
  let sfb = 0;
  for (let i = 0; i < n; i++) {
    sa += a.d[i]!;
    sb += b.d[i]!;
    sfa += f.d[i]! - a.d[i]!;
    sfb += f.d[i]! - b.d[i]!;
  }
  const ma = sa / n;
  const mb = sb / n;
  const mfa = sfa / n;
  const mfb = sfb / n;
  let c1 = 0;
  let c2 = 0;
  let vaa = 0;
  let vbb = 0;
  let vfa = 0;
  let vfb = 0;
  for (let i = 0; i < n; i++) {
    const da = a.d[i]! - ma;
    const db = b.d[i]! - mb;
    const dfa = f.d[i]! - a.d[i]! - mfa;
    const dfb = f.d[i]! - b.d[i]! - mfb;
    c1 += da * dfb;
    c2 += db * dfa;
    vaa += da * da;
    vbb += db * db;
    vfa += dfa * dfa;
    vfb += dfb * dfb;
  }
  return c1 / Math.sqrt(vaa * vfb) + c2 / Math.sqrt(vbb * vfa);
}

export { mean };

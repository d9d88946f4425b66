// Multi-scale MEF-SSIM of Ma, Zeng & Wang (2015), which Tang's pipeline reports as "MS_SSIM", for a
// two-image sequence [A, B] and fused F.
//
// The reference builds, at every window position, a desired patch r = t * sum_k c_k (x_k - mu_k) from
// the sources (c_k = weight_k / ed_k, t rescales r to the largest source contrast) and compares it with
// F's patch through Gaussian-weighted statistics. Every quantity it needs is a linear combination of
// local moments, so they come from box and Gaussian filtered moment images here instead of per-patch
// loops: sum_p g (x_k - mu_k)(x_l - mu_l) over the Gaussian window is Gcov_kl + (G_k - mu_k)(G_l - mu_l),
// and the mean terms cancel in the variance of r.

import { gaussianTaps } from "../internal/filters.js";
import { boxSumValid, filterValid, Scratch } from "../internal/separable.js";
import type { Gray } from "../plane.js";

const EPS = 2.220446049250313e-16;
const WIN = 11;
const C = (0.03 * 255) ** 2;

interface Img {
  w: number;
  h: number;
  d: Float64Array;
}

function prod(x: Float64Array, y: Float64Array): Float64Array {
  const o = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) o[i] = x[i]! * y[i]!;
  return o;
}

function mefSsim(a: Img, b: Img, f: Img): number {
  const { w, h } = a;
  const ow = w - WIN + 1;
  const oh = h - WIN + 1;
  const n = ow * oh;
  const scratch = new Scratch();
  const g = gaussianTaps(WIN, 1.5);
  const boxSum = (x: Float64Array): Float64Array => {
    const out = new Float64Array(n);
    boxSumValid(x, w, h, WIN, out, scratch);
    return out;
  };
  const gauss = (x: Float64Array): Float64Array => {
    const out = new Float64Array(n);
    filterValid(x, w, h, g, 1, out, scratch);
    return out;
  };
  const aa = prod(a.d, a.d);
  const bb = prod(b.d, b.d);
  const ab = prod(a.d, b.d);
  const af = prod(a.d, f.d);
  const bf = prod(b.d, f.d);
  const ff = prod(f.d, f.d);
  // Box sums: for integer images these are exact, so N*S2 - S1^2 is exact too.
  const sA = boxSum(a.d);
  const sB = boxSum(b.d);
  const sAA = boxSum(aa);
  const sBB = boxSum(bb);
  const sAB = boxSum(ab);
  const gA = gauss(a.d);
  const gB = gauss(b.d);
  const gF = gauss(f.d);
  const gAA = gauss(aa);
  const gBB = gauss(bb);
  const gAB = gauss(ab);
  const gAF = gauss(af);
  const gBF = gauss(bf);
  const gFF = gauss(ff);
  const N = WIN * WIN;
  let total = 0;
  for (let i = 0; i < n; i++) {
    // Centred sums of squares over the box: sum (x_k - mu_k)(x_l - mu_l).
    const cAA = Math.max((N * sAA[i]! - sA[i]! * sA[i]!) / N, 0);
    const cBB = Math.max((N * sBB[i]! - sB[i]! * sB[i]!) / N, 0);
    const cAB = (N * sAB[i]! - sA[i]! * sB[i]!) / N;
    const edA = Math.sqrt(cAA) + 0.001;
    const edB = Math.sqrt(cBB) + 0.001;
    // Structural consistency R = |sum of signals - its mean| / sum of |signal - mean|.
    const num = Math.sqrt(Math.max(cAA + cBB + 2 * cAB, 0));
    const den = Math.sqrt(cAA) + Math.sqrt(cBB);
    let R = (num + EPS) / (den + EPS);
    if (R > 1) R = 1 - EPS;
    if (R < 0) R = EPS;
    let p = Math.tan((Math.PI / 2) * R);
    if (p > 10) p = 10;
    let wA = (edA / WIN) ** p + EPS;
    let wB = (edB / WIN) ** p + EPS;
    const norm = wA + wB;
    wA /= norm;
    wB /= norm;
    const maxEd = Math.max(edA, edB);
    const kA = wA / edA;
    const kB = wB / edB;
    const rNorm = Math.sqrt(Math.max(kA * kA * cAA + kB * kB * cBB + 2 * kA * kB * cAB, 0));
    const t = rNorm > 0 ? maxEd / rNorm : 1;
    const ca = t * kA;
    const cb = t * kB;
    const muA = gA[i]!;
    const muB = gB[i]!;
    const muF = gF[i]!;
    const vAA = gAA[i]! - muA * muA;
    const vBB = gBB[i]! - muB * muB;
    const vAB = gAB[i]! - muA * muB;
    const vAF = gAF[i]! - muA * muF;
    const vBF = gBF[i]! - muB * muF;
    const vFF = gFF[i]! - muF * muF;
    const s1 = ca * ca * vAA + cb * cb * vBB + 2 * ca * cb * vAB;
    const s12 = ca * vAF + cb * vBF;
    total += (2 * s12 + C) / (s1 + vFF + C);
  }
  return total / n;
}

/** 2x2 mean with a symmetric (edge-repeating) border, keeping every second sample. */
function downsample(x: Img): Img {
  const w = Math.ceil(x.w / 2);
  const h = Math.ceil(x.h / 2);
  const d = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = 2 * y;
    const y1 = Math.min(y0 + 1, x.h - 1);
    for (let i = 0; i < w; i++) {
      const x0 = 2 * i;
      const x1 = Math.min(x0 + 1, x.w - 1);
      d[y * w + i] =
        (x.d[y0 * x.w + x0]! + x.d[y0 * x.w + x1]! + x.d[y1 * x.w + x0]! + x.d[y1 * x.w + x1]!) / 4;
    }
  }
  return { w, h, d };
}

const WEIGHTS = [0.0448, 0.2856, 0.3001];

/** Three-level MEF-SSIM; -Infinity when min(H, W) / 4 < 11, as the reference. */
export function msSsimMef(a: Gray, b: Gray, f: Gray): number {
  if (Math.min(a.w, a.h) / 4 < WIN) return Number.NEGATIVE_INFINITY;
  const wsum = WEIGHTS.reduce((s, x) => s + x, 0);
  let x: Img = a;
  let y: Img = b;
  let z: Img = f;
  let out = 1;
  for (let level = 0; level < WEIGHTS.length; level++) {
    if (level > 0) {
      x = downsample(x);
      y = downsample(y);
      z = downsample(z);
    }
    out *= mefSsim(x, y, z) ** (WEIGHTS[level]! / wsum);
  }
  return out;
}

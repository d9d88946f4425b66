// Chen-Blum (Qcb) and Chen-Varshney (Qcv) metrics from Z. Liu's imageFusionMetrics as shipped in VIFB.

import { filterInFrequencyComplex } from "../internal/fft.js";
import { correlateSameZero, sobel } from "../internal/filters.js";
import { minMax, roundHalfAway } from "../internal/stats.js";
import type { Gray } from "../plane.js";

/** normalize1: min-max to 0..255 and round; all-zero stays; constant non-zero becomes NaN (0/0). */
function normalize(x: Float64Array): Float64Array {
  const [lo, hi] = minMax(x);
  if (hi === 0 && lo === 0) return Float64Array.from(x);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = roundHalfAway(((x[i]! - lo) / (hi - lo)) * 255);
  return out;
}

/** 1-D factor of the unnormalised 31x31 Gaussian exp(-(x^2+y^2)/(2 sigma^2)) / (2 pi sigma^2). */
function gaussianUnnormalised(sigma: number): Float64Array {
  const g = new Float64Array(31);
  const scale = 1 / Math.sqrt(2 * Math.PI * sigma * sigma);
  for (let i = 0; i < 31; i++) {
    const t = i - 15;
    g[i] = Math.exp(-(t * t) / (2 * sigma * sigma)) * scale;
  }
  return g;
}

/**
 * Masked local contrast C' = C^3 / (C^2 + 1e-4) with C = |G2 * I / G4 * I - 1|, in complex arithmetic
 * like the reference (I is the complex ifft2 output; |.| is the modulus).
 */
function maskedContrast(img: { re: Float64Array; im: Float64Array }, w: number, h: number): Float64Array {
  const k1 = gaussianUnnormalised(2);
  const k2 = gaussianUnnormalised(4);
  const re = { w, h, d: img.re };
  const im = { w, h, d: img.im };
  const ar = correlateSameZero(re, k1);
  const ai = correlateSameZero(im, k1);
  const br = correlateSameZero(re, k2);
  const bi = correlateSameZero(im, k2);
  const out = new Float64Array(img.re.length);
  for (let i = 0; i < out.length; i++) {
    const den = br[i]! * br[i]! + bi[i]! * bi[i]!;
    const qr = (ar[i]! * br[i]! + ai[i]! * bi[i]!) / den - 1;
    const qi = (ai[i]! * br[i]! - ar[i]! * bi[i]!) / den;
    const c = Math.hypot(qr, qi);
    out[i] = (c * c * c) / (c * c + 0.0001);
  }
  return out;
}

/** Transposed copy: Qcb and Qcv are invariant under transposing all three images (only rounding changes). */
export function transpose(x: Gray): Gray {
  const d = new Float64Array(x.d.length);
  for (let y = 0; y < x.h; y++) for (let i = 0; i < x.w; i++) d[i * x.h + y] = x.d[y * x.w + i]!;
  return { w: x.h, h: x.w, d };
}

export function qcb(a: Gray, b: Gray, f: Gray): number {
  const { w, h } = f;
  const f0 = 15.387;
  const f1 = 1.3456;
  const dog = (fy: number, fx: number): number => {
    const u = (w / 30) * fx;
    const v = (h / 30) * fy;
    const r = Math.sqrt(u * u + v * v);
    return Math.exp(-((r / f0) ** 2)) - 0.7622 * Math.exp(-((r / f1) ** 2));
  };
  const [ca, cb, cf] = [a, b, f].map((x) =>
    maskedContrast(filterInFrequencyComplex(normalize(x.d), w, h, dog), w, h),
  ) as [Float64Array, Float64Array, Float64Array];
  let s = 0;
  for (let i = 0; i < cf.length; i++) {
    const pa = ca[i]!;
    const pb = cb[i]!;
    const pf = cf[i]!;
    // The reference blends both ratios with a 0/1 mask, so a zero contrast yields Inf*0 = NaN.
    const ma = pa < pf ? 1 : 0;
    const mb = pb < pf ? 1 : 0;
    const qa = (pa / pf) * ma + (pf / pa) * (1 - ma);
    const qb = (pb / pf) * mb + (pf / pb) * (1 - mb);
    const la = (pa * pa) / (pa * pa + pb * pb);
    const lb = (pb * pb) / (pa * pa + pb * pb);
    s += la * qa + lb * qb;
  }
  return s / cf.length;
}

const BLOCK = 16;

/** Per-block sums of v(x) over 16x16 blocks, partial blocks zero-padded. */
function blockSums(x: Float64Array, w: number, h: number, v: (t: number) => number): Float64Array {
  const bw = Math.ceil(w / BLOCK);
  const bh = Math.ceil(h / BLOCK);
  const out = new Float64Array(bw * bh);
  for (let y = 0; y < h; y++) {
    const by = Math.floor(y / BLOCK);
    for (let i = 0; i < w; i++) out[by * bw + Math.floor(i / BLOCK)]! += v(x[y * w + i]!);
  }
  return out;
}

export function qcv(a: Gray, b: Gray, f: Gray): number {
  const { w, h } = f;
  const na = normalize(a.d);
  const nb = normalize(b.d);
  const nf = normalize(f.d);
  const saliency = (img: Float64Array): Float64Array => {
    const { gx, gy } = sobel({ w, h, d: img }, "zero");
    const g = new Float64Array(gx.length);
    for (let i = 0; i < g.length; i++) g[i] = Math.sqrt(gx[i]! * gx[i]! + gy[i]! * gy[i]!);
    return blockSums(g, w, h, (t) => t ** 5);
  };
  const csf = (fy: number, fx: number): number => {
    const u = (w / 8) * fx;
    const v = (h / 8) * fy;
    const r = Math.sqrt(u * u + v * v);
    return 2.6 * (0.0192 + 0.144 * r) * Math.exp(-((0.144 * r) ** 1.1));
  };
  const distortion = (src: Float64Array): Float64Array => {
    const diff = new Float64Array(src.length);
    for (let i = 0; i < diff.length; i++) diff[i] = src[i]! - nf[i]!;
    // mean2(x.^2) of the complex filtered difference; its real part is re^2 - im^2.
    const { re, im } = filterInFrequencyComplex(diff, w, h, csf);
    for (let i = 0; i < re.length; i++) re[i] = re[i]! * re[i]! - im[i]! * im[i]!;
    const sums = blockSums(re, w, h, (t) => t);
    for (let i = 0; i < sums.length; i++) sums[i]! /= BLOCK * BLOCK;
    return sums;
  };
  const la = saliency(na);
  const lb = saliency(nb);
  const da = distortion(na);
  const db = distortion(nb);
  let num = 0;
  let den = 0;
  for (let i = 0; i < la.length; i++) {
    num += la[i]! * da[i]! + lb[i]! * db[i]!;
    den += la[i]! + lb[i]!;
  }
  return num / den;
}

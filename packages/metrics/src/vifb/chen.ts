// Chen-Blum (Qcb) and Chen-Varshney (Qcv) metrics from Z. Liu's imageFusionMetrics as shipped in VIFB.

import type { Gray } from "../plane.js";
import { correlateSameZero, sobel } from "../internal/filters.js";
import { filterInFrequency } from "../internal/fft.js";
import { minMax, roundHalfAway } from "../internal/stats.js";

/** normalize1: min-max to 0..255 and round; all-zero stays; constant non-zero becomes NaN (0/0). */
function normalize(x: Float64Array): Float64Array {
  const [lo, hi] = minMax(x);
  if (hi === 0 && lo === 0) return Float64Array.from(x);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = roundHalfAway(((x[i]! - lo) / (hi - lo)) * 255);
  return out;
}

function gaussianUnnormalised(sigma: number): { gx: Float64Array; gy: Float64Array } {
  const gx = new Float64Array(31);
  const gy = new Float64Array(31);
  for (let i = 0; i < 31; i++) {
    const t = i - 15;
    gx[i] = Math.exp(-(t * t) / (2 * sigma * sigma));
    gy[i] = gx[i]! / (2 * Math.PI * sigma * sigma);
  }
  return { gx, gy };
}

/** Masked local contrast C' = C^3 / (C^2 + 1e-4) with C = |G2 * I / G4 * I - 1|. */
function maskedContrast(img: Float64Array, w: number, h: number): Float64Array {
  const k1 = gaussianUnnormalised(2);
  const k2 = gaussianUnnormalised(4);
  const g = { w, h, d: img };
  const b1 = correlateSameZero(g, k1.gx, k1.gy);
  const b2 = correlateSameZero(g, k2.gx, k2.gy);
  const out = new Float64Array(img.length);
  for (let i = 0; i < out.length; i++) {
    const c = Math.abs(b1[i]! / b2[i]! - 1);
    out[i] = (c * c * c) / (c * c + 0.0001);
  }
  return out;
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
  const [ca, cb, cf] = [a, b, f].map((x) => maskedContrast(filterInFrequency(normalize(x.d), w, h, dog), w, h)) as [
    Float64Array,
    Float64Array,
    Float64Array,
  ];
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
    const filtered = filterInFrequency(diff, w, h, csf);
    const sums = blockSums(filtered, w, h, (t) => t * t);
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

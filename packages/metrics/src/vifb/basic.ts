// VIFB toolkit variants (xingchenzhang/VIFB metrics/metrics*.m) of the common statistics, on the
// uint8 images VIFB passes in, plus its cross entropy and edge intensity.

import { gradientSum } from "../cddfuse/basic.js";
import { sobel } from "../internal/filters.js";
import { entropyOfCounts } from "../internal/stats.js";
import type { Gray } from "../plane.js";

/** 256-bin histogram of floor(x) clipped to 0..255, as VIFB's loops index it. */
function floorHistogram(x: Float64Array): Float64Array {
  const h = new Float64Array(256);
  for (let i = 0; i < x.length; i++) {
    const v = Math.floor(x[i]!);
    h[v < 0 ? 0 : v > 255 ? 255 : v || 0]!++;
  }
  return h;
}

export function vifbEn(f: Gray): number {
  return entropyOfCounts(floorHistogram(f.d), f.d.length, Math.log2);
}

/** sqrt((sum of squared row differences + sum of squared column differences) / N). */
export function vifbSf(f: Gray): number {
  const { w, h, d } = f;
  let s = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = y * w + x;
      if (x > 0) s += (d[o]! - d[o - 1]!) ** 2;
      if (y > 0) s += (d[o]! - d[o - w]!) ** 2;
    }
  }
  return Math.sqrt(s / (w * h));
}

export function vifbAg(f: Gray): number {
  return gradientSum(f) / ((f.w - 1) * (f.h - 1));
}

/** VIFB's m(X,F) = sqrt(sum (X-F)^2) / N (not a mean squared error). */
function m(x: Gray, f: Gray): number {
  let s = 0;
  for (let i = 0; i < x.d.length; i++) s += (x.d[i]! - f.d[i]!) ** 2;
  return Math.sqrt(s) / x.d.length;
}

export function vifbRmse(a: Gray, b: Gray, f: Gray): number {
  return (m(a, f) + m(b, f)) / 2;
}

export function vifbPsnr(a: Gray, b: Gray, f: Gray): number {
  return 20 * Math.log10(255 / Math.sqrt(vifbRmse(a, b, f)));
}

function crossEntropy(x: Gray, f: Gray): number {
  const hx = floorHistogram(x.d);
  const hf = floorHistogram(f.d);
  const n = x.d.length;
  let s = 0;
  for (let k = 0; k < 256; k++) {
    if (hx[k]! > 0 && hf[k]! > 0) {
      const px = hx[k]! / n;
      s += px * Math.log2(px / (hf[k]! / n));
    }
  }
  return s;
}

/** (CE(A,F) + CE(B,F)) / 2 in bits. */
export function ce(a: Gray, b: Gray, f: Gray): number {
  return (crossEntropy(a, f) + crossEntropy(b, f)) / 2;
}

/** Mean Sobel gradient magnitude of F with replicate padding. */
export function ei(f: Gray): number {
  const { gx, gy } = sobel(f, "replicate");
  let s = 0;
  for (let i = 0; i < gx.length; i++) s += Math.sqrt(gx[i]! * gx[i]! + gy[i]! * gy[i]!);
  return s / gx.length;
}

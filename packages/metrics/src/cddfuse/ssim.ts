// scikit-image 0.19 structural_similarity with the defaults CDDFuse relies on: 7x7 uniform window,
// sample covariance (49/48), K1 = 0.01, K2 = 0.03, data_range = 2 for float input, map cropped by 3.
// Inside the crop the 7x7 window never reaches the padding, so the cropped map is a 'valid' filter.

import type { Gray } from "../plane.js";
import { boxSumValid, Scratch } from "../internal/separable.js";

/** Mean SSIM of x and y with a `win` x `win` box window, over valid positions. */
export function ssimBox(x: Gray, y: Gray, win: number, c1: number, c2: number, sampleCov: boolean): number {
  const { w, h } = x;
  if (w < win || h < win) return Number.NaN;
  const ow = w - win + 1;
  const oh = h - win + 1;
  const n = ow * oh;
  const np = win * win;
  const scratch = new Scratch();
  // Window means from exact running sums (integer data stays exact).
  const filt = (src: Float64Array): Float64Array => {
    const out = new Float64Array(n);
    boxSumValid(src, w, h, win, out, scratch);
    for (let i = 0; i < n; i++) out[i]! /= np;
    return out;
  };
  const xx = new Float64Array(w * h);
  const yy = new Float64Array(w * h);
  const xy = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) {
    xx[i] = x.d[i]! * x.d[i]!;
    yy[i] = y.d[i]! * y.d[i]!;
    xy[i] = x.d[i]! * y.d[i]!;
  }
  const ux = filt(x.d);
  const uy = filt(y.d);
  const uxx = filt(xx);
  const uyy = filt(yy);
  const uxy = filt(xy);
  const covNorm = sampleCov ? np / (np - 1) : 1;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const mx = ux[i]!;
    const my = uy[i]!;
    const vx = covNorm * (uxx[i]! - mx * mx);
    const vy = covNorm * (uyy[i]! - my * my);
    const vxy = covNorm * (uxy[i]! - mx * my);
    s += ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  }
  return s / n;
}

const C1 = (0.01 * 2) ** 2;
const C2 = (0.03 * 2) ** 2;

/** SSIM(F,A) + SSIM(F,B), scikit-image 0.19 defaults on float images. */
export function ssimCddfuse(a: Gray, b: Gray, f: Gray): number {
  return ssimBox(f, a, 7, C1, C2, true) + ssimBox(f, b, 7, C1, C2, true);
}

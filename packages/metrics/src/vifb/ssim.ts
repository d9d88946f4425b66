// Wang et al.'s reference ssim_index (as VIFB metricsSsim uses it): 11x11 Gaussian window (sigma 1.5),
// L = 255, 'valid' filtering, population statistics, mean of the map.

import { gaussianTaps } from "../internal/filters.js";
import { filterValid, Scratch } from "../internal/separable.js";
import type { Gray } from "../plane.js";

const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

export function ssimWang(x: Gray, y: Gray): number {
  const { w, h } = x;
  // ssim_index returns -Inf for images smaller than the window.
  if (w < 11 || h < 11) return Number.NEGATIVE_INFINITY;
  const g = gaussianTaps(11, 1.5);
  const ow = w - 10;
  const oh = h - 10;
  const scratch = new Scratch();
  const filt = (src: Float64Array): Float64Array => {
    const out = new Float64Array(ow * oh);
    filterValid(src, w, h, g, 1, out, scratch);
    return out;
  };
  const prod = (p: Float64Array, q: Float64Array): Float64Array => {
    const o = new Float64Array(p.length);
    for (let i = 0; i < p.length; i++) o[i] = p[i]! * q[i]!;
    return o;
  };
  const mx = filt(x.d);
  const my = filt(y.d);
  const exx = filt(prod(x.d, x.d));
  const eyy = filt(prod(y.d, y.d));
  const exy = filt(prod(x.d, y.d));
  let s = 0;
  for (let i = 0; i < mx.length; i++) {
    const m1 = mx[i]!;
    const m2 = my[i]!;
    const s1 = exx[i]! - m1 * m1;
    const s2 = eyy[i]! - m2 * m2;
    const s12 = exy[i]! - m1 * m2;
    s += ((2 * m1 * m2 + C1) * (2 * s12 + C2)) / ((m1 * m1 + m2 * m2 + C1) * (s1 + s2 + C2));
  }
  return s / mx.length;
}

/** SSIM(A,F) + SSIM(B,F). */
export function vifbSsim(a: Gray, b: Gray, f: Gray): number {
  return ssimWang(a, f) + ssimWang(b, f);
}

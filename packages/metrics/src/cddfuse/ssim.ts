// scikit-image 0.19 structural_similarity with the defaults CDDFuse relies on: 7x7 uniform window,
// sample covariance (49/48), K1 = 0.01, K2 = 0.03, data_range = 2 for float input, map cropped by 3.
// Inside the crop the 7x7 window never reaches the padding, so the cropped map is a 'valid' filter.

import type { Gray } from "../plane.js";
import { boxSumValid, Scratch } from "../internal/separable.js";

const WIN = 7;
const C1 = (0.01 * 2) ** 2;
const C2 = (0.03 * 2) ** 2;

/** Mean SSIM of (x, y) for each y in ys, sharing x's window statistics. NaN below 7x7. */
export function ssimSkimage(x: Gray, ys: Gray[]): number[] {
  const { w, h } = x;
  if (w < WIN || h < WIN) return ys.map(() => Number.NaN);
  const n = (w - WIN + 1) * (h - WIN + 1);
  const np = WIN * WIN;
  const covNorm = np / (np - 1);
  const scratch = new Scratch();
  const prod = new Float64Array(w * h);
  // Window sums from exact running sums (integer data stays exact); means are sums / 49.
  const sum = (src: Float64Array): Float64Array => {
    const out = new Float64Array(n);
    boxSumValid(src, w, h, WIN, out, scratch);
    return out;
  };
  const square = (p: Float64Array, q: Float64Array): Float64Array => {
    for (let i = 0; i < p.length; i++) prod[i] = p[i]! * q[i]!;
    return sum(prod);
  };
  const sx = sum(x.d);
  const sxx = square(x.d, x.d);
  return ys.map((y) => {
    const sy = sum(y.d);
    const syy = square(y.d, y.d);
    const sxy = square(x.d, y.d);
    let s = 0;
    for (let i = 0; i < n; i++) {
      const mx = sx[i]! / np;
      const my = sy[i]! / np;
      const vx = covNorm * (sxx[i]! / np - mx * mx);
      const vy = covNorm * (syy[i]! / np - my * my);
      const vxy = covNorm * (sxy[i]! / np - mx * my);
      s += ((2 * mx * my + C1) * (2 * vxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
    }
    return s / n;
  });
}

/** SSIM(F,A) + SSIM(F,B), scikit-image 0.19 defaults on float images. */
export function ssimCddfuse(a: Gray, b: Gray, f: Gray): number {
  const [sa, sb] = ssimSkimage(f, [a, b]) as [number, number];
  return sa + sb;
}

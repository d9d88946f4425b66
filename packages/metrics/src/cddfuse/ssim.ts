// scikit-image 0.19 structural_similarity with the defaults CDDFuse relies on: 7x7 uniform window,
// sample covariance (49/48), K1 = 0.01, K2 = 0.03, data_range = 2 for float input, map cropped by 3.
// Inside the crop the 7x7 window never reaches the padding, so the cropped map is a 'valid' filter.
//
// One fused pass: horizontal running sums of x, y, x^2, y^2 and xy per row, then running column sums
// slid down the image, evaluated straight into the SSIM formula. For integer images all window sums
// are exact.

import { ssimWasm, wasmSsim } from "../internal/wasm-ssim.js";
import type { Gray } from "../plane.js";

const WIN = 7;
const C1 = (0.01 * 2) ** 2;
const C2 = (0.03 * 2) ** 2;

/** Mean SSIM of x and y (skimage 0.19 defaults); NaN below 7x7. WebAssembly SIMD when available. */
export function ssimSkimage(x: Gray, y: Gray): number {
  if (x.w < WIN || x.h < WIN) return Number.NaN;
  const ex = wasmSsim();
  return (ex && ssimWasm(ex, x.d, y.d, x.w, x.h)) ?? ssimSkimageJs(x, y);
}

/** The same in plain JavaScript (fallback, and the cross-check of the kernel). */
export function ssimSkimageJs(x: Gray, y: Gray): number {
  const { w, h } = x;
  if (w < WIN || h < WIN) return Number.NaN;
  const ow = w - WIN + 1;
  const oh = h - WIN + 1;
  const np = WIN * WIN;
  const inv = 1 / np;
  const covNorm = np / (np - 1);
  const xd = x.d;
  const yd = y.d;
  // Row sums over WIN columns for each of the 5 moments: rows x ow each.
  const hx = new Float64Array(h * ow);
  const hy = new Float64Array(h * ow);
  const hxx = new Float64Array(h * ow);
  const hyy = new Float64Array(h * ow);
  const hxy = new Float64Array(h * ow);
  for (let r = 0; r < h; r++) {
    const o = r * w;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let syy = 0;
    let sxy = 0;
    for (let i = 0; i < WIN; i++) {
      const a = xd[o + i]!;
      const b = yd[o + i]!;
      sx += a;
      sy += b;
      sxx += a * a;
      syy += b * b;
      sxy += a * b;
    }
    const t = r * ow;
    hx[t] = sx;
    hy[t] = sy;
    hxx[t] = sxx;
    hyy[t] = syy;
    hxy[t] = sxy;
    for (let i = 1; i < ow; i++) {
      const a = xd[o + i + WIN - 1]!;
      const b = yd[o + i + WIN - 1]!;
      const a0 = xd[o + i - 1]!;
      const b0 = yd[o + i - 1]!;
      sx += a - a0;
      sy += b - b0;
      sxx += a * a - a0 * a0;
      syy += b * b - b0 * b0;
      sxy += a * b - a0 * b0;
      hx[t + i] = sx;
      hy[t + i] = sy;
      hxx[t + i] = sxx;
      hyy[t + i] = syy;
      hxy[t + i] = sxy;
    }
  }
  const cx = new Float64Array(ow);
  const cy = new Float64Array(ow);
  const cxx = new Float64Array(ow);
  const cyy = new Float64Array(ow);
  const cxy = new Float64Array(ow);
  for (let r = 0; r < WIN; r++) {
    const t = r * ow;
    for (let i = 0; i < ow; i++) {
      cx[i]! += hx[t + i]!;
      cy[i]! += hy[t + i]!;
      cxx[i]! += hxx[t + i]!;
      cyy[i]! += hyy[t + i]!;
      cxy[i]! += hxy[t + i]!;
    }
  }
  let total = 0;
  for (let r = 0; r < oh; r++) {
    if (r > 0) {
      const add = (r + WIN - 1) * ow;
      const sub = (r - 1) * ow;
      for (let i = 0; i < ow; i++) {
        cx[i]! += hx[add + i]! - hx[sub + i]!;
        cy[i]! += hy[add + i]! - hy[sub + i]!;
        cxx[i]! += hxx[add + i]! - hxx[sub + i]!;
        cyy[i]! += hyy[add + i]! - hyy[sub + i]!;
        cxy[i]! += hxy[add + i]! - hxy[sub + i]!;
      }
    }
    for (let i = 0; i < ow; i++) {
      const mx = cx[i]! * inv;
      const my = cy[i]! * inv;
      const vx = covNorm * (cxx[i]! * inv - mx * mx);
      const vy = covNorm * (cyy[i]! * inv - my * my);
      const vxy = covNorm * (cxy[i]! * inv - mx * my);
      total += ((2 * mx * my + C1) * (2 * vxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
    }
  }
  return total / (ow * oh);
}

/** SSIM(F,A) + SSIM(F,B), scikit-image 0.19 defaults on float images. */
export function ssimCddfuse(a: Gray, b: Gray, f: Gray): number {
  return ssimSkimage(f, a) + ssimSkimage(f, b);
}

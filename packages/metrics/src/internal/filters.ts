// Separable filtering on float64 images. All windows used by the metrics are separable
// (Gaussian, box), which turns a k x k window into two k-tap passes.

import type { Gray } from "../plane.js";
import { filterValid, Scratch } from "./separable.js";

/** Normalised 1-D Gaussian taps whose outer product equals MATLAB `fspecial('gaussian', n, sigma)`. */
export function gaussianTaps(n: number, sigma: number): Float64Array {
  // fspecial zeroes entries below eps*max of the 2-D window; for the sizes used here (n <= 5 sigma)
  // none is that small, so the window stays separable. The check keeps that assumption honest.
  const half = (n - 1) / 2;
  const g = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const x = i - half;
    g[i] = Math.exp(-(x * x) / (2 * sigma * sigma));
    s += g[i]!;
  }
  const corner = g[0]! * g[0]!;
  if (corner < Number.EPSILON * g[Math.floor(half)]! ** 2)
    throw new Error("gaussianTaps: window would not be separable");
  for (let i = 0; i < n; i++) g[i]! /= s;
  return g;
}

/**
 * 'same' correlation with zero padding of a separable kernel g (x) g (odd length, symmetric):
 * the image is zero-padded by the kernel radius and filtered 'valid'.
 */
export function correlateSameZero(img: Gray, g: Float64Array): Float64Array {
  const { w, h, d } = img;
  const r = (g.length - 1) / 2;
  const pw = w + 2 * r;
  const ph = h + 2 * r;
  const p = new Float64Array(pw * ph);
  for (let y = 0; y < h; y++) p.set(d.subarray(y * w, y * w + w), (y + r) * pw + r);
  const out = new Float64Array(w * h);
  filterValid(p, pw, ph, g, 1, out, new Scratch());
  return out;
}

/** Padding modes for 3x3 Sobel responses. */
export type Border = "zero" | "replicate" | "symmetric";

function at(d: Float64Array, w: number, h: number, y: number, x: number, border: Border): number {
  if (y >= 0 && y < h && x >= 0 && x < w) return d[y * w + x]!;
  if (border === "zero") return 0;
  // replicate: clamp. symmetric with a 1-pixel border and "mirror without repeating the edge pixel"
  // (reflect101) is what Kumar's per_extn_im_fn does.
  if (border === "replicate") {
    const yy = y < 0 ? 0 : y >= h ? h - 1 : y;
    const xx = x < 0 ? 0 : x >= w ? w - 1 : x;
    return d[yy * w + xx]!;
  }
  let yy = y < 0 ? -y : y >= h ? 2 * h - 2 - y : y;
  let xx = x < 0 ? -x : x >= w ? 2 * w - 2 - x : x;
  if (h === 1) yy = 0;
  if (w === 1) xx = 0;
  return d[yy * w + xx]!;
}

/**
 * Correlation with the 3x3 kernels kh = [-1 0 1; -2 0 2; -1 0 1] (horizontal derivative, "x") and
 * kv = [-1 -2 -1; 0 0 0; 1 2 1] (vertical derivative, "y"). A true convolution flips both signs,
 * which callers handle (signs only matter for angles).
 */
export function sobel(img: Gray, border: Border): { gx: Float64Array; gy: Float64Array } {
  const { w, h, d } = img;
  const gx = new Float64Array(w * h);
  const gy = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const interiorY = y > 0 && y < h - 1;
    for (let x = 0; x < w; x++) {
      let a: number, b: number, c: number, dd: number, f: number, g: number, hh: number, i: number;
      if (interiorY && x > 0 && x < w - 1) {
        const o = y * w + x;
        a = d[o - w - 1]!;
        b = d[o - w]!;
        c = d[o - w + 1]!;
        dd = d[o - 1]!;
        f = d[o + 1]!;
        g = d[o + w - 1]!;
        hh = d[o + w]!;
        i = d[o + w + 1]!;
      } else {
        a = at(d, w, h, y - 1, x - 1, border);
        b = at(d, w, h, y - 1, x, border);
        c = at(d, w, h, y - 1, x + 1, border);
        dd = at(d, w, h, y, x - 1, border);
        f = at(d, w, h, y, x + 1, border);
        g = at(d, w, h, y + 1, x - 1, border);
        hh = at(d, w, h, y + 1, x, border);
        i = at(d, w, h, y + 1, x + 1, border);
      }
      gx[y * w + x] = c - a + 2 * (f - dd) + i - g;
      gy[y * w + x] = g - a + 2 * (hh - b) + i - c;
    }
  }
  return { gx, gy };
}

// Xydeas-Petrovic edge-preservation Qabf, with the reference's quirks (see the fixtures README):
// Sobel by true 2-D convolution with zero padding, alpha = pi/2 where Sx = 0, G = gF when gX == gF,
// border responses included.

import type { Gray } from "../plane.js";

const HALF_PI = Math.PI / 2;

/** Zero-padded copy with a 1-pixel border, so the Sobel loop needs no bounds checks. */
function padZero(img: Gray, scale: number): Float64Array {
  const { w, h, d } = img;
  const pw = w + 2;
  const p = new Float64Array(pw * (h + 2));
  for (let y = 0; y < h; y++) {
    const o = (y + 1) * pw + 1;
    for (let x = 0; x < w; x++) p[o + x] = d[y * w + x]! * scale;
  }
  return p;
}

/**
 * Edge strength g and angle a of the scipy convolve2d Sobel responses (Sx with [-1 0 1; -2 0 2; -1 0 1],
 * Sy with [1 2 1; 0 0 0; -1 -2 -1], both mirrored by the convolution).
 */
function edges(img: Gray, scale: number, g: Float64Array, a: Float64Array): void {
  const { w, h } = img;
  const p = padZero(img, scale);
  const pw = w + 2;
  for (let y = 0; y < h; y++) {
    let o = (y + 1) * pw + 1;
    let i = y * w;
    for (let x = 0; x < w; x++, o++, i++) {
      const tl = p[o - pw - 1]!;
      const tr = p[o - pw + 1]!;
      const bl = p[o + pw - 1]!;
      const br = p[o + pw + 1]!;
      const sx = tl - tr + 2 * (p[o - 1]! - p[o + 1]!) + bl - br;
      const sy = bl - tl + 2 * (p[o + pw]! - p[o - pw]!) + br - tr;
      g[i] = Math.sqrt(sx * sx + sy * sy);
      a[i] = sx === 0 ? HALF_PI : Math.atan(sy / sx);
    }
  }
}

/** Qabf; `scale` multiplies the images first (1 for CDDFuse, 255 for VIFB's quirk). */
export function qabf(a: Gray, b: Gray, f: Gray, scale: number): number {
  const n = a.w * a.h;
  const gA = new Float64Array(n);
  const aA = new Float64Array(n);
  const gB = new Float64Array(n);
  const aB = new Float64Array(n);
  const gF = new Float64Array(n);
  const aF = new Float64Array(n);
  edges(a, scale, gA, aA);
  edges(b, scale, gB, aB);
  edges(f, scale, gF, aF);
  let nume = 0;
  let deno = 0;
  for (let i = 0; i < n; i++) {
    const ga = gA[i]!;
    const gb = gB[i]!;
    const gf = gF[i]!;
    const af = aF[i]!;
    deno += ga + gb;
    // Q_XF * gX vanishes where gX = 0 (Q is always finite), which skips the exps on flat pixels.
    if (ga !== 0) {
      const G = ga > gf ? gf / ga : ga === gf ? gf : ga / gf;
      const A = 1 - Math.abs(aA[i]! - af) / HALF_PI;
      nume += (0.9994 / (1 + Math.exp(-15 * (G - 0.5)))) * (0.9879 / (1 + Math.exp(-22 * (A - 0.8)))) * ga;
    }
    if (gb !== 0) {
      const G = gb > gf ? gf / gb : gb === gf ? gf : gb / gf;
      const A = 1 - Math.abs(aB[i]! - af) / HALF_PI;
      nume += (0.9994 / (1 + Math.exp(-15 * (G - 0.5)))) * (0.9879 / (1 + Math.exp(-22 * (A - 0.8)))) * gb;
    }
  }
  return nume / deno;
}

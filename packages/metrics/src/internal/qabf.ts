// Xydeas-Petrovic edge-preservation Qabf, with the reference's quirks (see the fixtures README):
// Sobel by true 2-D convolution with zero padding, alpha = pi/2 where Sx = 0, G = gF when gX == gF,
// border responses included.

import type { Gray } from "../plane.js";
import { sobel } from "./filters.js";

const HALF_PI = Math.PI / 2;

function strengthAndAngle(img: Gray, scale: number): { g: Float64Array; a: Float64Array } {
  const { gx, gy } = sobel(img, "zero");
  const n = gx.length;
  const g = new Float64Array(n);
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // convolve2d with [-1 0 1; -2 0 2; -1 0 1] is the correlation with the mirrored kernel, i.e. -gx.
    const sx = -gx[i]! * scale;
    const sy = gy[i]! * scale;
    g[i] = Math.sqrt(sx * sx + sy * sy);
    a[i] = sx === 0 ? HALF_PI : Math.atan(sy / sx);
  }
  return { g, a };
}

/** Q_XF at one pixel. */
function q(gX: number, aX: number, gF: number, aF: number): number {
  const G = gX > gF ? gF / gX : gX === gF ? gF : gX / gF;
  const A = 1 - Math.abs(aX - aF) / HALF_PI;
  return (0.9994 / (1 + Math.exp(-15 * (G - 0.5)))) * (0.9879 / (1 + Math.exp(-22 * (A - 0.8))));
}

/** Qabf; `scale` multiplies the images first (1 for CDDFuse, 255 for VIFB's quirk). */
export function qabf(a: Gray, b: Gray, f: Gray, scale: number): number {
  const A = strengthAndAngle(a, scale);
  const B = strengthAndAngle(b, scale);
  const F = strengthAndAngle(f, scale);
  let nume = 0;
  let deno = 0;
  for (let i = 0; i < A.g.length; i++) {
    const gA = A.g[i]!;
    const gB = B.g[i]!;
    const gF = F.g[i]!;
    const aF = F.a[i]!;
    nume += q(gA, A.a[i]!, gF, aF) * gA + q(gB, B.a[i]!, gF, aF) * gB;
    deno += gA + gB;
  }
  return nume / deno;
}

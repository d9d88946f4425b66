// B. K. Shreyamsha Kumar's modified fusion-artifact measure Nabf (objective_fusion_perform_fn).

import { sobel } from "../internal/filters.js";
import type { Gray } from "../plane.js";

const HALF_PI = Math.PI / 2;

function edges(img: Gray): { g: Float64Array; a: Float64Array } {
  const { gx, gy } = sobel(img, "symmetric");
  const g = new Float64Array(gx.length);
  const a = new Float64Array(gx.length);
  for (let i = 0; i < g.length; i++) {
    const gv = gx[i]! / 8;
    const gh = gy[i]! / 8;
    g[i] = Math.sqrt(gh * gh + gv * gv);
    a[i] = gv === 0 && gh === 0 ? 0 : Math.atan(gv / gh);
  }
  return { g, a };
}

function q(gX: number, aX: number, gF: number, aF: number): number {
  const gXF = gX === 0 || gF === 0 ? 0 : gX > gF ? gF / gX : gX / gF;
  const aXF = (Math.abs(Math.abs(aX - aF) - HALF_PI) * 2) / Math.PI;
  const qg = 0.9999 / (1 + Math.exp(-19 * (gXF - 0.5)));
  const qa = 0.9995 / (1 + Math.exp(-22 * (aXF - 0.5)));
  return Math.sqrt(qg * qa);
}

const weight = (g: number): number => (g >= 2 ? g ** 1.5 : 0.001);

/** Nabf with `fused` as the fused image and s1, s2 as the sources (lower is better). */
export function nabf(fused: Gray, s1: Gray, s2: Gray): number {
  const F = edges(fused);
  const A = edges(s1);
  const B = edges(s2);
  let num = 0;
  let den = 0;
  for (let i = 0; i < F.g.length; i++) {
    const gA = A.g[i]!;
    const gB = B.g[i]!;
    const gF = F.g[i]!;
    const wA = weight(gA);
    const wB = weight(gB);
    den += wA + wB;
    if (gF > gA && gF > gB) {
      num += (1 - q(gA, A.a[i]!, gF, F.a[i]!)) * wA + (1 - q(gB, B.a[i]!, gF, F.a[i]!)) * wB;
    }
  }
  return num / den;
}

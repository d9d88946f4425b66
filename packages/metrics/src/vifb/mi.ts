// VIFB metricsMutinf: min-max stretch to [0,1], int16(255 x) levels, 256x256 joint histogram, natural log.

import { minMax, roundHalfAway } from "../internal/stats.js";
import type { Gray } from "../plane.js";

function stretchedLevels(x: Float64Array): Int32Array {
  const [lo, hi] = minMax(x);
  const out = new Int32Array(x.length);
  if (hi === lo) return out;
  for (let i = 0; i < x.length; i++) out[i] = roundHalfAway(((x[i]! - lo) / (hi - lo)) * 255);
  return out;
}

function entropyNats(counts: Float64Array, total: number): number {
  let e = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0) {
      const p = c / total;
      e -= p * Math.log(p);
    }
  }
  return e;
}

/** H_X + H_Y - H_XY of the stretched levels, nats. */
export function vifbMutinf(x: Float64Array, y: Float64Array): number {
  const lx = stretchedLevels(x);
  const ly = stretchedLevels(y);
  const hx = new Float64Array(256);
  const hy = new Float64Array(256);
  const hxy = new Float64Array(256 * 256);
  for (let i = 0; i < lx.length; i++) {
    hx[lx[i]!]!++;
    hy[ly[i]!]!++;
    hxy[lx[i]! * 256 + ly[i]!]!++;
  }
  const n = lx.length;
  return entropyNats(hx, n) + entropyNats(hy, n) - entropyNats(hxy, n);
}

export function vifbMi(a: Gray, b: Gray, f: Gray): number {
  return vifbMutinf(a.d, f.d) + vifbMutinf(b.d, f.d);
}

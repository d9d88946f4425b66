// Linfeng Tang's MATLAB evaluation (Evaluation-for-Image-Fusion, SeAFusion / PSFusion family):
// MI in bits with Hab.m's uint8 saturation, PSNR with peak 255 on a [0,1]-scale MSE.

import { mseAB } from "../cddfuse/basic.js";
import { entropyOfCounts, histogram256, toLevels } from "../internal/stats.js";
import type { Gray } from "../plane.js";

function miBits(x: Int32Array, f: Int32Array): number {
  const n = x.length;
  const hx = histogram256(x);
  const hf = histogram256(f);
  const joint = new Float64Array(256 * 256);
  // Hab.m adds 1 in uint8 arithmetic, which saturates: 254 and 255 share a joint bin.
  for (let i = 0; i < n; i++) joint[Math.min(x[i]!, 254) * 256 + Math.min(f[i]!, 254)]!++;
  return (
    entropyOfCounts(hx, n, Math.log2) +
    entropyOfCounts(hf, n, Math.log2) -
    entropyOfCounts(joint, n, Math.log2)
  );
}

/** MI(F,A) + MI(F,B) in bits, Tang's entropy() + Hab.m. */
export function tangMi(a: Gray, b: Gray, f: Gray): number {
  const la = toLevels(a.d);
  const lb = toLevels(b.d);
  const lf = toLevels(f.d);
  return miBits(la, lf) + miBits(lb, lf);
}

/** MSE on the [0,1] scale. */
export function tangMse(a: Gray, b: Gray, f: Gray): number {
  return mseAB(a, b, f) / (255 * 255);
}

/** 20 log10(255 / sqrt(MSE on [0,1])), about 48.13 dB above a 0..255-scale PSNR with peak 255. */
export function tangPsnr(a: Gray, b: Gray, f: Gray): number {
  return 20 * Math.log10(255 / Math.sqrt(tangMse(a, b, f)));
}

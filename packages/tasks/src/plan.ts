import { CHROMA_OFFSET, rgbToYCbCr, yCbCrToRgb } from "./colour.js";
import type { Planes } from "./image.js";

/**
 * How the channels of two sources are fused (DESIGN.md, "Full-colour channel fusion"):
 * - `y`: fuse luma; chroma comes from the colour source (A if both are colour).
 * - `full-colour`: fuse Y, Cb and Cr of the colour source each with the grey source.
 * - `both-colour`: fuse luma; chroma is blended with weights from the fusion mask and saturation.
 * These follow training/fccf_train/infer.py, the reference the engine is checked against.
 */
export type ChannelPlan = "y" | "full-colour" | "both-colour";

export const CHANNEL_PLANS: readonly ChannelPlan[] = ["y", "full-colour", "both-colour"];

/** Added to each source's saturation in the both-colour blend (1 on the 8-bit scale), so grey areas follow the mask. */
const CHROMA_EPS = 1 / 255;

/** One single-channel fusion the network performs: planes in [0, 1], `a` is cond[:, 0]. */
export interface ChannelPair {
  readonly label: "Y" | "Cb" | "Cr";
  readonly a: Float32Array;
  readonly b: Float32Array;
}

/** Brings a plane of source B into source A's frame (the registration of the luma pass). */
export type AlignB = (plane: Float32Array) => Float32Array;

/** The single-channel fusions a pair of images needs, and how to put the results together. */
export interface ChannelJob {
  readonly width: number;
  readonly height: number;
  readonly pairs: readonly ChannelPair[];
  /**
   * Builds the output image from the fused planes (one per pair, in [0, 1]), the fusion mask of
   * the luma pass (weight of A) and the registration of B onto A.
   */
  assemble(fused: readonly Float32Array[], mask: Float32Array, alignB: AlignB): Planes;
}

/**
 * Splits two sources into the channel pairs of a plan.
 *
 * @example
 * ```ts
 * import { planChannels } from "@fccf/tasks";
 * const job = planChannels("y", visible, infrared); // visible: 3 planes, infrared: 1 plane
 * job.pairs.length; // 1 (luma)
 * const out = job.assemble([fusedY], mask, (p) => p); // RGB with the visible image's chroma
 * ```
 */
export function planChannels(plan: ChannelPlan, a: Planes, b: Planes): ChannelJob {
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`sources differ in size: ${a.width}x${a.height} and ${b.width}x${b.height}`);
  }
  const { width, height } = a;
  const bitDepth = a.bitDepth === 16 || b.bitDepth === 16 ? 16 : 8;
  const out = (planes: Float32Array[]): Planes => ({ width, height, bitDepth, planes });
  const yccA = a.planes.length === 3 ? rgbToYCbCr(a.planes) : null;
  const yccB = b.planes.length === 3 ? rgbToYCbCr(b.planes) : null;
  const ya = yccA ? yccA[0] : a.planes[0]!;
  const yb = yccB ? yccB[0] : b.planes[0]!;
  const pairs: ChannelPair[] = [{ label: "Y", a: ya, b: yb }];

  if (plan === "full-colour" && (yccA || yccB)) {
    // Diff-FCCF mode: each chroma plane of the colour source is fused with the other's luma.
    if (yccB) pairs.push({ label: "Cb", a: ya, b: yccB[1] }, { label: "Cr", a: ya, b: yccB[2] });
    else pairs.push({ label: "Cb", a: yccA![1], b: yb }, { label: "Cr", a: yccA![2], b: yb });
    return { width, height, pairs, assemble: (fused) => out(yCbCrToRgb(fused)) };
  }

  return {
    width,
    height,
    pairs,
    assemble: (fused, mask, alignB) => {
      const y = fused[0]!;
      if (yccA && yccB) {
        // both colour: always blend (a `y` plan on two colour sources has no single colour source)
        const [cb, cr] = blendChroma(yccA, [alignB(yccB[1]), alignB(yccB[2])], mask);
        return out(yCbCrToRgb([y, cb, cr]));
      }
      if (yccA) return out(yCbCrToRgb([y, yccA[1], yccA[2]]));
      if (yccB) return out(yCbCrToRgb([y, alignB(yccB[1]), alignB(yccB[2])]));
      return out([y]);
    },
  };
}

/**
 * Blends the chroma of two colour sources: each pixel's weight is the source's fusion-mask weight
 * times its saturation (|Cb - 128| + |Cr - 128| + 1 on the 8-bit scale), so the more informative
 * and more colourful source wins and grey areas of one source do not wash out the other's colour.
 * `b` holds B's (registered) Cb and Cr planes.
 */
export function blendChroma(
  a: readonly Float32Array[],
  b: readonly [Float32Array, Float32Array],
  maskA: Float32Array,
): [Float32Array, Float32Array] {
  const n = maskA.length;
  const cb = new Float32Array(n);
  const cr = new Float32Array(n);
  const [, cbA, crA] = a as [Float32Array, Float32Array, Float32Array];
  const [cbB, crB] = b;
  const o = CHROMA_OFFSET;
  for (let i = 0; i < n; i++) {
    const m = maskA[i]!;
    const wa = m * (Math.abs(cbA[i]! - o) + Math.abs(crA[i]! - o) + CHROMA_EPS);
    const wb = (1 - m) * (Math.abs(cbB[i]! - o) + Math.abs(crB[i]! - o) + CHROMA_EPS);
    const s = 1 / (wa + wb);
    cb[i] = (wa * cbA[i]! + wb * cbB[i]!) * s;
    cr[i] = (wa * crA[i]! + wb * crB[i]!) * s;
  }
  return [cb, cr];
}

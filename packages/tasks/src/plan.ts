import { luma, rgbToYCbCr, yCbCrToRgb } from "./colour.js";
import type { Planes } from "./image.js";

/**
 * How the channels of two sources are fused (DESIGN.md, "Full-colour channel fusion"):
 * - `y`: fuse luma; chroma comes from the colour source (a if both are colour).
 * - `full-colour`: fuse Y, Cb and Cr of the colour source each with the grey source.
 * - `both-colour`: fuse luma; chroma is blended with weights from the fusion mask and saturation.
 */
export type ChannelPlan = "y" | "full-colour" | "both-colour";

export const CHANNEL_PLANS: readonly ChannelPlan[] = ["y", "full-colour", "both-colour"];

/** One single-channel fusion the network performs: planes in [0, 1], a is cond[:,0]. */
export interface ChannelPair {
  readonly label: "Y" | "Cb" | "Cr";
  readonly a: Float32Array;
  readonly b: Float32Array;
}

/** The single-channel fusions a pair of images needs, and how to put the results together. */
export interface ChannelJob {
  readonly width: number;
  readonly height: number;
  readonly pairs: readonly ChannelPair[];
  /**
   * Builds the output image from the fused planes (one per pair, in [0, 1]) and the fusion masks
   * (weight of `a`, one per pair, in [0, 1]).
   */
  assemble(fused: readonly Float32Array[], masks: readonly Float32Array[]): Planes;
}

/**
 * Splits two sources into the channel pairs of a plan.
 *
 * @example
 * ```ts
 * import { planChannels } from "@fccf/tasks";
 * const job = planChannels("y", visible, infrared); // visible: 3 planes, infrared: 1 plane
 * job.pairs.length; // 1 (luma)
 * const out = job.assemble([fusedY], [mask]); // RGB with the visible image's chroma
 * ```
 */
export function planChannels(plan: ChannelPlan, a: Planes, b: Planes): ChannelJob {
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`sources differ in size: ${a.width}x${a.height} and ${b.width}x${b.height}`);
  }
  const { width, height } = a;
  const bitDepth = a.bitDepth === 16 || b.bitDepth === 16 ? 16 : 8;
  const aColour = a.planes.length === 3;
  const bColour = b.planes.length === 3;
  const greyOf = (p: Planes) => (p.planes.length === 3 ? luma(p.planes[0]!, p.planes[1]!, p.planes[2]!) : p.planes[0]!);

  if (!aColour && !bColour) {
    return {
      width,
      height,
      pairs: [{ label: "Y", a: a.planes[0]!, b: b.planes[0]! }],
      assemble: (fused) => ({ width, height, bitDepth, planes: [fused[0]!] }),
    };
  }

  if (plan === "full-colour" && aColour !== bColour) {
    const colour = aColour ? a : b;
    const grey = aColour ? b.planes[0]! : a.planes[0]!;
    const ycc = rgbToYCbCr(colour.planes);
    const labels = ["Y", "Cb", "Cr"] as const;
    const pairs = ycc.map((plane, i) =>
      aColour ? { label: labels[i]!, a: plane, b: grey } : { label: labels[i]!, a: grey, b: plane },
    );
    return { width, height, pairs, assemble: (fused) => ({ width, height, bitDepth, planes: yCbCrToRgb(fused) }) };
  }

  const yccA = aColour ? rgbToYCbCr(a.planes) : null;
  const yccB = bColour ? rgbToYCbCr(b.planes) : null;
  const pairs = [{ label: "Y" as const, a: yccA ? yccA[0] : greyOf(a), b: yccB ? yccB[0] : greyOf(b) }];

  if (plan === "both-colour" && yccA && yccB) {
    return {
      width,
      height,
      pairs,
      assemble: (fused, masks) => {
        const [cb, cr] = blendChroma(yccA, yccB, masks[0]!);
        return { width, height, bitDepth, planes: yCbCrToRgb([fused[0]!, cb, cr]) };
      },
    };
  }

  const chroma = (yccA ?? yccB)!;
  return {
    width,
    height,
    pairs,
    assemble: (fused) => ({ width, height, bitDepth, planes: yCbCrToRgb([fused[0]!, chroma[1], chroma[2]]) }),
  };
}

/**
 * Blends the chroma of two colour sources: each pixel's weight is the source's fusion-mask weight
 * times its saturation (|Cb-0.5| + |Cr-0.5|), so the more informative and more colourful source
 * wins and grey areas of one source do not wash out the other's colour.
 */
export function blendChroma(
  a: readonly Float32Array[],
  b: readonly Float32Array[],
  maskA: Float32Array,
): [Float32Array, Float32Array] {
  const n = maskA.length;
  const cb = new Float32Array(n);
  const cr = new Float32Array(n);
  const [, cbA, crA] = a as [Float32Array, Float32Array, Float32Array];
  const [, cbB, crB] = b as [Float32Array, Float32Array, Float32Array];
  for (let i = 0; i < n; i++) {
    const m = maskA[i]!;
    const wa = m * (Math.abs(cbA[i]! - 0.5) + Math.abs(crA[i]! - 0.5)) + 1e-6;
    const wb = (1 - m) * (Math.abs(cbB[i]! - 0.5) + Math.abs(crB[i]! - 0.5)) + 1e-6;
    const s = 1 / (wa + wb);
    cb[i] = (wa * cbA[i]! + wb * cbB[i]!) * s;
    cr[i] = (wa * crA[i]! + wb * crB[i]!) * s;
  }
  return [cb, cr];
}

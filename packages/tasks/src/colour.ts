// YCbCr as in JPEG / BT.601 full range, on planes in [0, 1] with chroma centred at 128/255, the
// same coefficients as training/fccf_train (the network was trained on these planes).

/** The chroma offset: neutral Cb/Cr (128 on the 8-bit scale). */
export const CHROMA_OFFSET = 128 / 255;

/** BT.601 luma of RGB planes. */
export function luma(
  r: Float32Array,
  g: Float32Array,
  b: Float32Array,
  out = new Float32Array(r.length),
): Float32Array {
  for (let i = 0; i < r.length; i++) out[i] = 0.299 * r[i]! + 0.587 * g[i]! + 0.114 * b[i]!;
  return out;
}

/**
 * RGB planes to Y, Cb, Cr planes (full range, chroma offset 128/255).
 *
 * @example
 * ```ts
 * import { rgbToYCbCr } from "@fccf/tasks";
 * const [y, cb, cr] = rgbToYCbCr([new Float32Array([1]), new Float32Array([1]), new Float32Array([1])]);
 * // white: y = 1, cb = cr = 128/255
 * ```
 */
export function rgbToYCbCr(rgb: readonly Float32Array[]): [Float32Array, Float32Array, Float32Array] {
  const [r, g, b] = rgb as [Float32Array, Float32Array, Float32Array];
  const n = r.length;
  const y = new Float32Array(n);
  const cb = new Float32Array(n);
  const cr = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const R = r[i]!;
    const G = g[i]!;
    const B = b[i]!;
    y[i] = 0.299 * R + 0.587 * G + 0.114 * B;
    cb[i] = CHROMA_OFFSET - 0.168736 * R - 0.331264 * G + 0.5 * B;
    cr[i] = CHROMA_OFFSET + 0.5 * R - 0.418688 * G - 0.081312 * B;
  }
  return [y, cb, cr];
}

/** Y, Cb, Cr planes back to RGB planes (not clamped: quantisation clamps). */
export function yCbCrToRgb(ycc: readonly Float32Array[]): [Float32Array, Float32Array, Float32Array] {
  const [y, cb, cr] = ycc as [Float32Array, Float32Array, Float32Array];
  const n = y.length;
  const r = new Float32Array(n);
  const g = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const Y = y[i]!;
    const Cb = cb[i]! - CHROMA_OFFSET;
    const Cr = cr[i]! - CHROMA_OFFSET;
    r[i] = Y + 1.402 * Cr;
    g[i] = Y - 0.344136 * Cb - 0.714136 * Cr;
    b[i] = Y + 1.772 * Cb;
  }
  return [r, g, b];
}

// YCbCr as in JPEG / BT.601 full range, on planes in [0, 1] with chroma centred at 0.5
// (0.5 = 128/255 for 8-bit). These are the conversions fccf's channel plans are defined in.

/** BT.601 luma of RGB planes. */
export function luma(r: Float32Array, g: Float32Array, b: Float32Array, out = new Float32Array(r.length)): Float32Array {
  for (let i = 0; i < r.length; i++) out[i] = 0.299 * r[i]! + 0.587 * g[i]! + 0.114 * b[i]!;
  return out;
}

/**
 * RGB planes to Y, Cb, Cr planes (full range, chroma offset 0.5).
 *
 * @example
 * ```ts
 * import { rgbToYCbCr } from "@fccf/tasks";
 * const [y, cb, cr] = rgbToYCbCr([new Float32Array([1]), new Float32Array([1]), new Float32Array([1])]);
 * // white: y = 1, cb = cr = 0.5
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
    cb[i] = 0.5 - 0.168735892 * R - 0.331264108 * G + 0.5 * B;
    cr[i] = 0.5 + 0.5 * R - 0.418687589 * G - 0.081312411 * B;
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
    const Cb = cb[i]! - 0.5;
    const Cr = cr[i]! - 0.5;
    r[i] = Y + 1.402 * Cr;
    g[i] = Y - 0.344136286 * Cb - 0.714136286 * Cr;
    b[i] = Y + 1.772 * Cb;
  }
  return [r, g, b];
}

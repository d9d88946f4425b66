import type { Plane } from "./plane.js";

/**
 * Interleaved colour pixels as decoders hand them out: `channels` samples per pixel (1 grey, 2 grey+alpha,
 * 3 RGB, 4 RGBA), row-major.
 */
export interface InterleavedImage {
  readonly data: Uint8Array | Uint16Array | Float32Array | Float64Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}

function checkInterleaved(img: InterleavedImage): void {
  const { width, height, channels, data } = img;
  if (![1, 2, 3, 4].includes(channels))
    throw new RangeError(`channels must be 1, 2, 3 or 4, got ${channels}`);
  if (data.length !== width * height * channels) {
    throw new RangeError(
      `image data has ${data.length} samples, expected ${width}x${height}x${channels} = ${width * height * channels}`,
    );
  }
}

/** Round half to even, as numpy's `np.round` does. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Grey plane as the fixtures and the evaluators' pipelines build it: BT.601 luma
 * Y = 0.299 R + 0.587 G + 0.114 B in float64, rounded to the nearest integer and clipped to the sample
 * range (0..255 for 8-bit, 0..65535 for 16-bit input). Grey input (1 or 2 channels) is passed through
 * (alpha is dropped). Alpha is ignored, not composited.
 *
 * OpenCV's `cvtColor(..., COLOR_BGR2GRAY)` / `IMREAD_GRAYSCALE` on 8-bit data uses 14-bit fixed-point
 * weights (4899, 9617, 1868)/16384 instead: see {@link rgbToGreyOpenCV}. The two differ by one grey
 * level on about 1 % of typical pixels.
 *
 * @example
 * ```ts
 * import { rgbToGrey } from "@fccf/metrics";
 * const grey = rgbToGrey({ data: new Uint8Array([255, 0, 0, 0, 0, 255]), width: 2, height: 1, channels: 3 });
 * // grey.data -> Uint8Array [76, 29]
 * ```
 */
export function rgbToGrey(img: InterleavedImage): Plane {
  checkInterleaved(img);
  const { width, height, channels, data } = img;
  const n = width * height;
  const max = data instanceof Uint16Array ? 65535 : 255;
  const out =
    data instanceof Uint16Array
      ? new Uint16Array(n)
      : data instanceof Uint8Array
        ? new Uint8Array(n)
        : new Float64Array(n);
  const float = out instanceof Float64Array;
  for (let i = 0; i < n; i++) {
    const o = i * channels;
    let y: number;
    if (channels < 3) y = data[o]!;
    else y = 0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]!;
    if (float && channels < 3) out[i] = y;
    else {
      const r = roundHalfEven(y);
      out[i] = float ? r : Math.min(max, Math.max(0, r));
    }
  }
  return { data: out, width, height };
}

/**
 * Grey plane the way OpenCV 4 converts 8-bit RGB (`cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)`, also what
 * `cv2.imread(path, cv2.IMREAD_GRAYSCALE)` gives for a colour PNG): Y = (4899 R + 9617 G + 1868 B + 8192) >> 14.
 * Only for 8-bit data. Use it to reproduce numbers of pipelines that read images with OpenCV.
 *
 * @example
 * ```ts
 * import { rgbToGreyOpenCV } from "@fccf/metrics";
 * rgbToGreyOpenCV({ data: new Uint8Array([255, 0, 0]), width: 1, height: 1, channels: 3 }).data; // [76]
 * ```
 */
export function rgbToGreyOpenCV(img: InterleavedImage): Plane {
  checkInterleaved(img);
  const { width, height, channels, data } = img;
  if (!(data instanceof Uint8Array))
    throw new TypeError("rgbToGreyOpenCV: only 8-bit (Uint8Array) data is supported");
  const n = width * height;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * channels;
    out[i] =
      channels < 3 ? data[o]! : (4899 * data[o]! + 9617 * data[o + 1]! + 1868 * data[o + 2]! + 8192) >> 14;
  }
  return { data: out, width, height };
}

/**
 * A decoded raster image: interleaved samples, 8- or 16-bit, 1 (grey), 2 (grey+alpha), 3 (RGB)
 * or 4 (RGBA) channels. Alpha is carried through I/O but ignored by fusion.
 */
export interface RasterImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly bitDepth: 8 | 16;
  readonly data: Uint8Array | Uint16Array;
}

/** An image as float planes in [0, 1]: one plane (grey) or three (R, G, B). */
export interface Planes {
  readonly width: number;
  readonly height: number;
  readonly planes: Float32Array[];
  /** The bit depth the planes came from, so output can keep it. */
  readonly bitDepth: 8 | 16;
}

/** Checks that a raster's buffer matches its declared size; throws a message naming `label`. */
export function checkRaster(img: RasterImage, label = "image"): void {
  const { width, height, channels, bitDepth, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`${label}: invalid size ${width}x${height}`);
  }
  if (bitDepth === 8 ? !(data instanceof Uint8Array) : !(data instanceof Uint16Array)) {
    throw new TypeError(
      `${label}: ${bitDepth}-bit image needs a ${bitDepth === 8 ? "Uint8Array" : "Uint16Array"}`,
    );
  }
  if (data.length !== width * height * channels) {
    throw new RangeError(`${label}: ${data.length} samples for ${width}x${height}x${channels}`);
  }
}

/**
 * Splits a raster into float planes in [0, 1] (alpha dropped; grey+alpha becomes grey).
 *
 * @example
 * ```ts
 * import { toPlanes } from "@fccf/tasks";
 * const p = toPlanes({ width: 1, height: 1, channels: 3, bitDepth: 8, data: new Uint8Array([255, 0, 51]) });
 * p.planes.map((x) => x[0]); // [1, 0, 0.2]
 * ```
 */
export function toPlanes(img: RasterImage): Planes {
  checkRaster(img);
  const { width, height, channels, bitDepth, data } = img;
  const n = width * height;
  const colour = channels >= 3 ? 3 : 1;
  const scale = 1 / (bitDepth === 8 ? 255 : 65535);
  const planes = Array.from({ length: colour }, () => new Float32Array(n));
  for (let c = 0; c < colour; c++) {
    const plane = planes[c]!;
    for (let i = 0, j = c; i < n; i++, j += channels) plane[i] = data[j]! * scale;
  }
  return { width, height, planes, bitDepth };
}

/**
 * Quantises float planes in [0, 1] to an interleaved raster (round half to even, as numpy, clamped).
 * One plane gives a grey image, three give RGB.
 */
export function fromPlanes(p: Planes, bitDepth: 8 | 16 = p.bitDepth): RasterImage {
  const { width, height, planes } = p;
  const channels = planes.length;
  if (channels !== 1 && channels !== 3)
    throw new RangeError(`fromPlanes needs 1 or 3 planes, got ${channels}`);
  const n = width * height;
  const max = bitDepth === 8 ? 255 : 65535;
  const data = bitDepth === 8 ? new Uint8Array(n * channels) : new Uint16Array(n * channels);
  for (let c = 0; c < channels; c++) {
    const plane = planes[c]!;
    if (plane.length !== n)
      throw new RangeError(`plane ${c} has ${plane.length} values for ${width}x${height}`);
    for (let i = 0, j = c; i < n; i++, j += channels) {
      const v = roundHalfEven(plane[i]! * max);
      data[j] = v < 0 ? 0 : v > max ? max : v;
    }
  }
  return { width, height, channels: channels as 1 | 3, bitDepth, data };
}

/** Rounds to the nearest integer, ties to even (numpy's rounding, used by the Python reference). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

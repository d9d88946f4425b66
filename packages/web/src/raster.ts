import type { RasterImage } from "@fccf/tasks";

/** The shape of the DOM's ImageData (RGBA, 8-bit), so this module also runs outside browsers. */
export interface ImageDataLike {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;
}

/**
 * Turns canvas pixels into an fccf raster: grey when R = G = B everywhere (so a greyscale file
 * drawn on a canvas fuses as grey), RGB otherwise. Alpha is dropped.
 *
 * @example
 * ```ts
 * import { rasterFromImageData } from "@fccf/web";
 * const ctx = canvas.getContext("2d")!;
 * const raster = rasterFromImageData(ctx.getImageData(0, 0, canvas.width, canvas.height));
 * ```
 */
export function rasterFromImageData(img: ImageDataLike): RasterImage {
  const { width, height, data } = img;
  const n = width * height;
  let grey = true;
  for (let i = 0; i < n && grey; i++) {
    const j = 4 * i;
    grey = data[j] === data[j + 1] && data[j] === data[j + 2];
  }
  if (grey) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = data[4 * i]!;
    return { width, height, channels: 1, bitDepth: 8, data: out };
  }
  const out = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    out[3 * i] = data[4 * i]!;
    out[3 * i + 1] = data[4 * i + 1]!;
    out[3 * i + 2] = data[4 * i + 2]!;
  }
  return { width, height, channels: 3, bitDepth: 8, data: out };
}

/** Turns an 8-bit grey or RGB raster into RGBA pixels for a canvas (16-bit is reduced to 8-bit). */
export function rasterToRgba(img: RasterImage): Uint8ClampedArray {
  const { width, height, channels, bitDepth, data } = img;
  const n = width * height;
  const out = new Uint8ClampedArray(4 * n);
  const scale = bitDepth === 16 ? 255 / 65535 : 1;
  for (let i = 0; i < n; i++) {
    const j = i * channels;
    const r = data[j]! * scale;
    const g = channels >= 3 ? data[j + 1]! * scale : r;
    const b = channels >= 3 ? data[j + 2]! * scale : r;
    out[4 * i] = Math.round(r);
    out[4 * i + 1] = Math.round(g);
    out[4 * i + 2] = Math.round(b);
    out[4 * i + 3] = 255;
  }
  return out;
}

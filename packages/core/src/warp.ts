/**
 * Backward-warps a plane by a displacement field in pixels: out(p) = img(p + flow(p)), with
 * flow[0] = dx (columns) and flow[1] = dy (rows) as planes of the same size. Bilinear, with
 * sample positions clamped to the image (PyTorch grid_sample, align_corners=True, padding_mode
 * "border"), the convention of the model contract.
 *
 * @example
 * ```ts
 * import { warpPlane } from "@fccf/core";
 * const aligned = warpPlane(b, dx, dy, width, height);
 * ```
 */
export function warpPlane(
  img: Float32Array,
  dx: Float32Array,
  dy: Float32Array,
  width: number,
  height: number,
  out = new Float32Array(width * height),
): Float32Array {
  const n = width * height;
  if (img.length !== n || dx.length !== n || dy.length !== n || out.length !== n) {
    throw new RangeError(`warpPlane: planes must all have ${width}x${height} = ${n} values`);
  }
  const xmax = width - 1;
  const ymax = height - 1;
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      let sx = x + dx[i]!;
      let sy = y + dy[i]!;
      // NaN flows sample the border like PyTorch's clamp does for out-of-range values.
      sx = sx > 0 ? (sx < xmax ? sx : xmax) : 0;
      sy = sy > 0 ? (sy < ymax ? sy : ymax) : 0;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const x1 = x0 < xmax ? x0 + 1 : xmax;
      const y1 = y0 < ymax ? y0 + 1 : ymax;
      const r0 = y0 * width;
      const r1 = y1 * width;
      const top = img[r0 + x0]! + (img[r0 + x1]! - img[r0 + x0]!) * fx;
      const bottom = img[r1 + x0]! + (img[r1 + x1]! - img[r1 + x0]!) * fx;
      out[i] = top + (bottom - top) * fy;
    }
  }
  return out;
}

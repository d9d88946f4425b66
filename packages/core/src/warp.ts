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
  checkPlanes("warpPlane", width, height, img, dx, dy, out);
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

/**
 * Backward-warps a plane like {@link warpPlane} (same flow convention, sample positions clamped to
 * the image) but with Catmull-Rom cubic interpolation (Keys, a = -0.5), taps beyond the border
 * repeating the edge. Resampling a whole source with it keeps more of its fine detail than
 * bilinear, which low-passes at fractional shifts; the engine uses it for the classical
 * pre-registration of B. Values may overshoot the input range slightly near steep edges: clamp them
 * if the range matters.
 *
 * @example
 * ```ts
 * import { warpPlaneCubic } from "@fccf/core";
 * const aligned = warpPlaneCubic(b, dx, dy, width, height);
 * ```
 */
export function warpPlaneCubic(
  img: Float32Array,
  dx: Float32Array,
  dy: Float32Array,
  width: number,
  height: number,
  out = new Float32Array(width * height),
): Float32Array {
  checkPlanes("warpPlaneCubic", width, height, img, dx, dy, out);
  const xmax = width - 1;
  const ymax = height - 1;
  const wx = [0, 0, 0, 0];
  const wy = [0, 0, 0, 0];
  const cols = [0, 0, 0, 0];
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      let sx = x + dx[i]!;
      let sy = y + dy[i]!;
      sx = sx > 0 ? (sx < xmax ? sx : xmax) : 0;
      sy = sy > 0 ? (sy < ymax ? sy : ymax) : 0;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      catmullRom(sx - x0, wx);
      catmullRom(sy - y0, wy);
      for (let k = 0; k < 4; k++) {
        const c = x0 + k - 1;
        cols[k] = c < 0 ? 0 : c > xmax ? xmax : c;
      }
      let acc = 0;
      for (let j = 0; j < 4; j++) {
        const r = y0 + j - 1;
        const row = (r < 0 ? 0 : r > ymax ? ymax : r) * width;
        acc +=
          wy[j]! *
          (wx[0]! * img[row + cols[0]!]! +
            wx[1]! * img[row + cols[1]!]! +
            wx[2]! * img[row + cols[2]!]! +
            wx[3]! * img[row + cols[3]!]!);
      }
      out[i] = acc;
    }
  }
  return out;
}

/** Catmull-Rom weights of the taps at offsets -1, 0, 1, 2 for a fractional position t in [0, 1). */
function catmullRom(t: number, w: number[]): void {
  const t2 = t * t;
  const t3 = t2 * t;
  w[0] = (-t3 + 2 * t2 - t) / 2;
  w[1] = (3 * t3 - 5 * t2 + 2) / 2;
  w[2] = (-3 * t3 + 4 * t2 + t) / 2;
  w[3] = (t3 - t2) / 2;
}

function checkPlanes(fn: string, width: number, height: number, ...planes: Float32Array[]): void {
  const n = width * height;
  if (planes.some((p) => p.length !== n))
    throw new RangeError(`${fn}: planes must all have ${width}x${height} = ${n} values`);
}

/** Options of {@link registerNgf}; the defaults are the ones measured in training/reports. */
export interface RegisterNgfOptions {
  /** Control grid size per axis (bilinear between nodes; any affine map is held exactly). Default 4. */
  grid?: number;
  /** Adam iterations at 1/4 resolution (half as many follow at 1/2, a quarter at full resolution). Default 100. */
  iters?: number;
  /** Edge threshold of the normalised gradients, as a fraction of A's mean gradient. Default 0.5. */
  epsFactor?: number;
  /** Weight of the penalty on differences between neighbouring grid nodes. Default 3e-5. */
  smoothness?: number;
}

/**
 * Classical registration of B onto A by normalised gradient fields: the displacement (pixels, dx
 * plane then dy plane) with b(p + flow(p)) ~ a(p), the convention of {@link warpPlane}. Meant for
 * sources that show the same content (exposures, focus settings, polarisation), misaligned by up to
 * about 10 px; it does not register different modalities (infrared, PET, ...) reliably.
 *
 * The flow is a bilinear interpolation of a control grid, fitted by Adam to maximise the squared
 * cosine between the gradients of A and of warped B on a Gaussian pyramid (1/4, 1/2, full), leaving
 * out saturated pixels, with a small penalty on differences between neighbouring grid nodes. It
 * follows `training/fccf_train/ngf.py` step for step, in float64.
 *
 * @example
 * ```ts
 * import { registerNgf, warpPlane } from "@fccf/core";
 * const flow = registerNgf(underY, overY, width, height); // planes in [0, 1]
 * const aligned = warpPlane(overY, flow.subarray(0, width * height), flow.subarray(width * height), width, height);
 * ```
 */
export function registerNgf(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  width: number,
  height: number,
  options: RegisterNgfOptions = {},
): Float32Array {
  const n = width * height;
  if (a.length !== n || b.length !== n)
    throw new RangeError(`registerNgf: planes must have ${width}x${height} values`);
  const g = options.grid ?? 4;
  const iters = options.iters ?? 100;
  const epsFactor = options.epsFactor ?? 0.5;
  const smoothness = options.smoothness ?? 3e-5;
  if (!Number.isInteger(g) || g < 2)
    throw new RangeError(`registerNgf: grid must be an integer >= 2, got ${g}`);
  if (width < 16 || height < 16)
    throw new RangeError(`registerNgf: images must be at least 16x16, got ${width}x${height}`);
  const a0 = Float64Array.from(a);
  const b0 = Float64Array.from(b);
  let ctrl = new Float64Array(2 * g * g);
  for (const [scale, nIter] of [
    [4, iters],
    [2, Math.floor(iters / 2)],
    [1, Math.floor(iters / 4)],
  ] as const) {
    const sa = areaDown(gaussBlur(a0, width, height, scale / 2), width, height, scale);
    const sb = areaDown(gaussBlur(b0, width, height, scale / 2), width, height, scale);
    const w = Math.floor(width / scale);
    const h = Math.floor(height / scale);
    const wy = gridAxis(h, g);
    const wx = gridAxis(w, g);
    const ws = workspace(w * h);
    const [gx, gy] = centralDiff(sa, w, h);
    let meanGrad = 0;
    for (let i = 0; i < w * h; i++) meanGrad += Math.sqrt(gx[i]! * gx[i]! + gy[i]! * gy[i]!);
    const eps = (epsFactor * meanGrad) / (w * h) + 1e-6;
    const ax = new Float64Array(w * h);
    const ay = new Float64Array(w * h);
    for (let i = 0; i < w * h; i++) {
      const na = Math.sqrt(gx[i]! * gx[i]! + gy[i]! * gy[i]! + eps * eps);
      ax[i] = gx[i]! / na;
      ay[i] = gy[i]! / na;
    }
    const lr = 0.3 / scale;
    const m = new Float64Array(ctrl.length);
    const v = new Float64Array(ctrl.length);
    for (let k = 1; k <= nIter; k++) {
      const grad = ngfGradient(ax, ay, sa, sb, ctrl, wy, wx, w, h, g, scale, eps, ws);
      const smooth = gridSmoothnessGradient(ctrl, g);
      for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! + smoothness * smooth[i]!;
      const c1 = 1 - 0.9 ** k;
      const c2 = 1 - 0.999 ** k;
      const next = new Float64Array(ctrl.length);
      for (let i = 0; i < ctrl.length; i++) {
        m[i] = 0.9 * m[i]! + 0.1 * grad[i]!;
        v[i] = 0.999 * v[i]! + 0.001 * grad[i]! * grad[i]!;
        next[i] = ctrl[i]! - (lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + 1e-8);
      }
      ctrl = next;
    }
  }
  const flow = new Float32Array(2 * n);
  const wy = gridAxis(height, g);
  const wx = gridAxis(width, g);
  const plane = new Float64Array(n);
  for (let c = 0; c < 2; c++)
    flow.set(expand(ctrl.subarray(c * g * g, (c + 1) * g * g), wy, wx, width, height, g, 1, plane), c * n);
  return flow;
}

/**
 * Gradient of the sum over 4-neighbour node pairs of (c_i - c_j)^2, per flow component: holds nodes
 * over flat or saturated regions (no pull from the data) near their neighbours.
 */
function gridSmoothnessGradient(ctrl: Float64Array, g: number): Float64Array {
  const out = new Float64Array(ctrl.length);
  for (let c = 0; c < 2; c++) {
    const o = c * g * g;
    for (let i = 0; i + 1 < g; i++)
      for (let j = 0; j < g; j++) {
        const d = ctrl[o + (i + 1) * g + j]! - ctrl[o + i * g + j]!;
        out[o + (i + 1) * g + j] = out[o + (i + 1) * g + j]! + 2 * d;
        out[o + i * g + j] = out[o + i * g + j]! - 2 * d;
      }
  }
  for (let c = 0; c < 2; c++) {
    const o = c * g * g;
    for (let i = 0; i < g; i++)
      for (let j = 0; j + 1 < g; j++) {
        const d = ctrl[o + i * g + j + 1]! - ctrl[o + i * g + j]!;
        out[o + i * g + j + 1] = out[o + i * g + j + 1]! + 2 * d;
        out[o + i * g + j] = out[o + i * g + j]! - 2 * d;
      }
  }
  return out;
}

/**
 * Bilinear weights of a g-node grid at n samples, corners aligned: sample i lies between nodes
 * i0[i] and i0[i] + 1 with weights 1 - t[i] and t[i] (the dense [n x g] matrix has only these two
 * non-zeros per row; skipping its zeros leaves every sum bit-identical).
 */
interface GridAxis {
  i0: Int32Array;
  t: Float64Array;
}

function gridAxis(n: number, g: number): GridAxis {
  const i0 = new Int32Array(n);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const pos = (i * (g - 1)) / Math.max(n - 1, 1);
    i0[i] = Math.min(Math.floor(pos), g - 2);
    t[i] = pos - i0[i]!;
  }
  return { i0, t };
}

/** Row y of wy @ c (c: the [g x g] grid starting at offset o of ctrl) into row. */
function gridRow(ctrl: Float64Array, o: number, wy: GridAxis, y: number, g: number, row: Float64Array): void {
  const k0 = wy.i0[y]!;
  const ty = wy.t[y]!;
  for (let j = 0; j < g; j++) row[j] = (1 - ty) * ctrl[o + k0 * g + j]! + ty * ctrl[o + (k0 + 1) * g + j]!;
}

/** wy @ c @ wx^T / scale: the control grid c [g x g] expanded into out [h x w]. */
function expand(
  c: Float64Array,
  wy: GridAxis,
  wx: GridAxis,
  w: number,
  h: number,
  g: number,
  scale: number,
  out: Float64Array,
): Float64Array {
  const row = new Float64Array(g); // row y of wy @ c
  for (let y = 0; y < h; y++) {
    gridRow(c, 0, wy, y, g, row);
    for (let x = 0; x < w; x++) {
      const j0 = wx.i0[x]!;
      const tx = wx.t[x]!;
      out[y * w + x] = (row[j0]! * (1 - tx) + row[j0 + 1]! * tx) / scale;
    }
  }
  return out;
}

/** Buffers of one pyramid level, reused by every iteration there (they are image-sized). */
interface Workspace {
  bw: Float64Array;
  dfx: Float64Array;
  dfy: Float64Array;
  gbx: Float64Array;
  gby: Float64Array;
  gb: Float64Array;
}

function workspace(size: number): Workspace {
  const f = () => new Float64Array(size);
  return { bw: f(), dfx: f(), dfy: f(), gbx: f(), gby: f(), gb: f() };
}

/**
 * Gradient of the NGF loss with respect to the control grid (both planes, [2 x g x g]). The passes
 * are fused (flow expansion into the warp, the gradient of warped B into the loss, the count
 * normalisation into the adjoint, both planes into one reduction) without changing any per-pixel
 * operation or the order of any sum, so the result is the one of the unfused formulation.
 */
function ngfGradient(
  ax: Float64Array,
  ay: Float64Array,
  a: Float64Array,
  b: Float64Array,
  ctrl: Float64Array,
  wy: GridAxis,
  wx: GridAxis,
  w: number,
  h: number,
  g: number,
  scale: number,
  eps: number,
  ws: Workspace,
): Float64Array {
  const gg = g * g;
  const { bw, dfx, dfy, gbx, gby, gb } = ws;
  const rowX = new Float64Array(g); // row y of wy @ ctrl (dx plane)
  const rowY = new Float64Array(g);
  for (let y = 0, i = 0; y < h; y++) {
    gridRow(ctrl, 0, wy, y, g, rowX);
    gridRow(ctrl, gg, wy, y, g, rowY);
    for (let x = 0; x < w; x++, i++) {
      const j0 = wx.i0[x]!;
      const t = wx.t[x]!;
      const px = x + (rowX[j0]! * (1 - t) + rowX[j0 + 1]! * t) / scale;
      const py = y + (rowY[j0]! * (1 - t) + rowY[j0 + 1]! * t) / scale;
      const sx = Math.max(0, Math.min(px, w - 1));
      const sy = Math.max(0, Math.min(py, h - 1));
      const x0 = Math.min(sx | 0, w - 2); // sx >= 0, so | 0 is floor (and keeps indices integer)
      const y0 = Math.min(sy | 0, h - 2);
      const tx = sx - x0;
      const ty = sy - y0;
      const o = y0 * w + x0;
      const v00 = b[o]!;
      const v01 = b[o + 1]!;
      const v10 = b[o + w]!;
      const v11 = b[o + w + 1]!;
      const top = v00 + (v01 - v00) * tx;
      const bot = v10 + (v11 - v10) * tx;
      bw[i] = top + (bot - top) * ty;
      // clamped samples do not move with the flow
      dfx[i] = px > 0 && px < w - 1 ? (v01 - v00) * (1 - ty) + (v11 - v10) * ty : 0;
      dfy[i] = py > 0 && py < h - 1 ? bot - top : 0;
    }
  }
  let count = 0;
  const e2 = eps * eps;
  for (let y = 0, i = 0; y < h; y++) {
    const up = (y > 0 ? y - 1 : 0) * w;
    const dn = (y < h - 1 ? y + 1 : h - 1) * w;
    for (let x = 0; x < w; x++, i++) {
      const ai = a[i]!;
      const bi = bw[i]!;
      if (!(ai > 0.03 && ai < 0.97 && bi > 0.03 && bi < 0.97)) {
        gbx[i] = 0;
        gby[i] = 0;
        continue;
      }
      count++;
      // central differences of warped B, as centralDiff
      const bx = (bw[y * w + (x < w - 1 ? x + 1 : w - 1)]! - bw[y * w + (x > 0 ? x - 1 : 0)]!) / 2;
      const by = (bw[dn + x]! - bw[up + x]!) / 2;
      const nb2 = bx * bx + by * by + e2;
      const s = ax[i]! * bx + ay[i]! * by;
      gbx[i] = -((2 * s * ax[i]!) / nb2 - (2 * s * s * bx) / (nb2 * nb2));
      gby[i] = -((2 * s * ay[i]!) / nb2 - (2 * s * s * by) / (nb2 * nb2));
    }
  }
  // divided by the count afterwards, as Python divides the whole expression
  centralDiffAdjoint(gbx, gby, w, h, count + 1, gb);
  const out = new Float64Array(2 * gg);
  const sumX = new Float64Array(g);
  const sumY = new Float64Array(g);
  const accX = new Float64Array(gg);
  const accY = new Float64Array(gg);
  // wy^T @ (gb * d) @ wx / scale for d = dfx, dfy, summed in the same order as the dense products
  for (let y = 0; y < h; y++) {
    sumX.fill(0);
    sumY.fill(0);
    // the two nodes of the current grid cell are summed in locals and stored when the cell changes
    let cell = wx.i0[0]!;
    let xLo = 0;
    let xHi = 0;
    let yLo = 0;
    let yHi = 0;
    for (let x = 0, i = y * w; x < w; x++, i++) {
      const j0 = wx.i0[x]!;
      if (j0 !== cell) {
        sumX[cell] = xLo;
        sumX[cell + 1] = xHi;
        sumY[cell] = yLo;
        sumY[cell + 1] = yHi;
        cell = j0;
        xLo = sumX[j0]!;
        xHi = sumX[j0 + 1]!;
        yLo = sumY[j0]!;
        yHi = sumY[j0 + 1]!;
      }
      const gi = gb[i]!;
      const p = gi * dfx[i]!;
      const q = gi * dfy[i]!;
      const t = wx.t[x]!;
      xLo += p * (1 - t);
      xHi += p * t;
      yLo += q * (1 - t);
      yHi += q * t;
    }
    sumX[cell] = xLo;
    sumX[cell + 1] = xHi;
    sumY[cell] = yLo;
    sumY[cell + 1] = yHi;
    const k0 = wy.i0[y]!;
    const ty = wy.t[y]!;
    for (let j = 0; j < g; j++) {
      accX[k0 * g + j] = accX[k0 * g + j]! + (1 - ty) * sumX[j]!;
      accX[(k0 + 1) * g + j] = accX[(k0 + 1) * g + j]! + ty * sumX[j]!;
      accY[k0 * g + j] = accY[k0 * g + j]! + (1 - ty) * sumY[j]!;
      accY[(k0 + 1) * g + j] = accY[(k0 + 1) * g + j]! + ty * sumY[j]!;
    }
  }
  for (let i = 0; i < gg; i++) {
    out[i] = accX[i]! / scale;
    out[gg + i] = accY[i]! / scale;
  }
  return out;
}

/** Separable Gaussian, radius round(3 sigma), edge-replicating borders. */
function gaussBlur(x: Float64Array, w: number, h: number, sigma: number): Float64Array {
  const r = Math.floor(3 * sigma + 0.5);
  const k = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let i = 0; i < k.length; i++) {
    k[i] = Math.exp(-((i - r) * (i - r)) / (2 * sigma * sigma));
    sum += k[i]!;
  }
  for (let i = 0; i < k.length; i++) k[i] = k[i]! / sum;
  const clamp = (v: number, hi: number) => Math.max(0, Math.min(v, hi));
  // interior samples skip the border clamp; the taps are summed in the same order everywhere
  const tmp = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let xx = 0; xx < w; xx++) {
      let s = 0;
      if (xx >= r && xx + r < w) for (let i = 0; i < k.length; i++) s += k[i]! * x[row + xx + i - r]!;
      else for (let i = 0; i < k.length; i++) s += k[i]! * x[row + clamp(xx + i - r, w - 1)]!;
      tmp[row + xx] = s;
    }
  }
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const inside = y >= r && y + r < h;
    for (let xx = 0; xx < w; xx++) {
      let s = 0;
      if (inside) for (let i = 0; i < k.length; i++) s += k[i]! * tmp[(y + i - r) * w + xx]!;
      else for (let i = 0; i < k.length; i++) s += k[i]! * tmp[clamp(y + i - r, h - 1) * w + xx]!;
      out[y * w + xx] = s;
    }
  }
  return out;
}

/** Mean of f x f blocks; trailing rows and columns that do not fill a block are dropped. */
function areaDown(x: Float64Array, w: number, h: number, f: number): Float64Array {
  const ow = Math.floor(w / f);
  const oh = Math.floor(h / f);
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++)
    for (let xx = 0; xx < ow; xx++) {
      let s = 0;
      for (let j = 0; j < f; j++) for (let i = 0; i < f; i++) s += x[(y * f + j) * w + xx * f + i]!;
      out[y * ow + xx] = s / (f * f);
    }
  return out;
}

/** (d/dx, d/dy): central differences inside, one-sided halves at the borders. */
function centralDiff(x: Float64Array, w: number, h: number): [Float64Array, Float64Array] {
  const gx = new Float64Array(w * h);
  const gy = new Float64Array(w * h);
  for (let y = 0; y < h; y++)
    for (let i = 0; i < w; i++) {
      const l = i > 0 ? i - 1 : 0;
      const r = i < w - 1 ? i + 1 : w - 1;
      const u = y > 0 ? y - 1 : 0;
      const d = y < h - 1 ? y + 1 : h - 1;
      gx[y * w + i] = (x[y * w + r]! - x[y * w + l]!) / 2;
      gy[y * w + i] = (x[d * w + i]! - x[u * w + i]!) / 2;
    }
  return [gx, gy];
}

/**
 * The transpose of {@link centralDiff} applied to (dx, dy) / norm: dL/dx from dL/d(gx) and dL/d(gy),
 * written into out.
 */
function centralDiffAdjoint(
  dx: Float64Array,
  dy: Float64Array,
  w: number,
  h: number,
  norm: number,
  out: Float64Array,
): void {
  out.fill(0);
  for (let y = 0; y < h; y++)
    for (let i = 0; i < w; i++) {
      const l = i > 0 ? i - 1 : 0;
      const r = i < w - 1 ? i + 1 : w - 1;
      const u = y > 0 ? y - 1 : 0;
      const d = y < h - 1 ? y + 1 : h - 1;
      const vx = dx[y * w + i]! / norm / 2;
      const vy = dy[y * w + i]! / norm / 2;
      out[y * w + r]! += vx;
      out[y * w + l]! -= vx;
      out[d * w + i]! += vy;
      out[u * w + i]! -= vy;
    }
}

/**
 * Mean displacement (pixels) below which `register: "auto"` leaves B as it is. On aligned training
 * pairs of the same-content tasks {@link registerNgf} moves B by 0.1-0.3 px on average (drift,
 * not alignment); on the registration gate's synthetic misalignments by about 2.4 px.
 */
export const AUTO_MIN_SHIFT_PX = 0.75;

/**
 * Whether a pre-registration flow (dx plane then dy plane, `width * height` each) moves B by at
 * least {@link AUTO_MIN_SHIFT_PX} on average: the test `register: "auto"` applies, as
 * `fccf_train.infer.pre_registration_moves` does.
 *
 * @example
 * ```ts
 * import { preRegistrationMoves, registerNgf } from "@fccf/core";
 * const flow = registerNgf(aY, bY, width, height);
 * const useIt = preRegistrationMoves(flow, width, height);
 * ```
 */
export function preRegistrationMoves(flow: Float32Array, width: number, height: number): boolean {
  const n = width * height;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const dx = flow[i]!;
    const dy = flow[n + i]!;
    sum += Math.sqrt(dx * dx + dy * dy);
  }
  return sum / n >= AUTO_MIN_SHIFT_PX;
}

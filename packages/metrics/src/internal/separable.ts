// Fast separable 'valid' filtering with a symmetric odd-length kernel. Each pass reads rows
// contiguously and writes its result transposed, so the second (vertical) pass is again a row pass.
// Symmetric taps are paired, halving the multiplications. Optional steps compute only every
// step-th output (filter-then-decimate without the discarded work).

import { ensureMemory } from "./wasm-asm.js";
import { wasmPass } from "./wasm-pass.js";

/** Output length of a 'valid' filter of length k over n samples, keeping every `step`-th output. */
export function validLength(n: number, k: number, step: number): number {
  return n < k ? 0 : Math.floor((n - k) / step) + 1;
}

// Unrolled kernels for the window sizes the metrics use (3, 5, 9, 11, 17, 31 taps): constants stay in
// registers. Generated from one template; they differ only in the number of tap pairs. Taps are added
// in the same order as the WebAssembly kernel (centre, then pairs outwards), so both paths give
// bit-identical results.
function pass3(
  src: Float64Array,
  rows: number,
  n: number,
  g: Float64Array,
  step: number,
  dst: Float64Array,
): void {
  const g0 = g[1]!,
    g1 = g[0]!;
  const on = validLength(n, 3, step);
  for (let y = 0; y < rows; y++) {
    const row = y * n;
    for (let j = 0; j < on; j++) {
      const m = row + j * step + 1;
      let s = src[m]! * g0;
      s += (src[m - 1]! + src[m + 1]!) * g1;
      dst[j * rows + y] = s;
    }
  }
}

function pass5(
  src: Float64Array,
  rows: number,
  n: number,
  g: Float64Array,
  step: number,
  dst: Float64Array,
): void {
  const g0 = g[2]!,
    g1 = g[1]!,
    g2 = g[0]!;
  const on = validLength(n, 5, step);
  for (let y = 0; y < rows; y++) {
    const row = y * n;
    for (let j = 0; j < on; j++) {
      const m = row + j * step + 2;
      let s = src[m]! * g0;
      s += (src[m - 1]! + src[m + 1]!) * g1;
      s += (src[m - 2]! + src[m + 2]!) * g2;
      dst[j * rows + y] = s;
    }
  }
}

function pass9(
  src: Float64Array,
  rows: number,
  n: number,
  g: Float64Array,
  step: number,
  dst: Float64Array,
): void {
  const g0 = g[4]!,
    g1 = g[3]!,
    g2 = g[2]!,
    g3 = g[1]!,
    g4 = g[0]!;
  const on = validLength(n, 9, step);
  for (let y = 0; y < rows; y++) {
    const row = y * n;
    for (let j = 0; j < on; j++) {
      const m = row + j * step + 4;
      let s = src[m]! * g0;
      s += (src[m - 1]! + src[m + 1]!) * g1;
      s += (src[m - 2]! + src[m + 2]!) * g2;
      s += (src[m - 3]! + src[m + 3]!) * g3;
      s += (src[m - 4]! + src[m + 4]!) * g4;
      dst[j * rows + y] = s;
    }
  }
}

function pass11(
  src: Float64Array,
  rows: number,
  n: number,
  g: Float64Array,
  step: number,
  dst: Float64Array,
): void {
  const g0 = g[5]!,
    g1 = g[4]!,
    g2 = g[3]!,
    g3 = g[2]!,
    g4 = g[1]!,
    g5 = g[0]!;
  const on = validLength(n, 11, step);
  for (let y = 0; y < rows; y++) {
    const row = y * n;
    for (let j = 0; j < on; j++) {
      const m = row + j * step + 5;
      let s = src[m]! * g0;
      s += (src[m - 1]! + src[m + 1]!) * g1;
      s += (src[m - 2]! + src[m + 2]!) * g2;
      s += (src[m - 3]! + src[m + 3]!) * g3;
      s += (src[m - 4]! + src[m + 4]!) * g4;
      s += (src[m - 5]! + src[m + 5]!) * g5;
      dst[j * rows + y] = s;
    }
  }
}

function pass17(
  src: Float64Array,
  rows: number,
  n: number,
  g: Float64Array,
  step: number,
  dst: Float64Array,
): void {
  const g0 = g[8]!,
    g1 = g[7]!,
    g2 = g[6]!,
    g3 = g[5]!,
    g4 = g[4]!,
    g5 = g[3]!,
    g6 = g[2]!,
    g7 = g[1]!,
    g8 = g[0]!;
  const on = validLength(n, 17, step);
  for (let y = 0; y < rows; y++) {
    const row = y * n;
    for (let j = 0; j < on; j++) {
      const m = row + j * step + 8;
      let s = src[m]! * g0;
      s += (src[m - 1]! + src[m + 1]!) * g1;
      s += (src[m - 2]! + src[m + 2]!) * g2;
      s += (src[m - 3]! + src[m + 3]!) * g3;
      s += (src[m - 4]! + src[m + 4]!) * g4;
      s += (src[m - 5]! + src[m + 5]!) * g5;
      s += (src[m - 6]! + src[m + 6]!) * g6;
      s += (src[m - 7]! + src[m + 7]!) * g7;
      s += (src[m - 8]! + src[m + 8]!) * g8;
      dst[j * rows + y] = s;
    }
  }
}

function pass31(
  src: Float64Array,
  rows: number,
  n: number,
  g: Float64Array,
  step: number,
  dst: Float64Array,
): void {
  const g0 = g[15]!,
    g1 = g[14]!,
    g2 = g[13]!,
    g3 = g[12]!,
    g4 = g[11]!,
    g5 = g[10]!,
    g6 = g[9]!,
    g7 = g[8]!,
    g8 = g[7]!,
    g9 = g[6]!,
    g10 = g[5]!,
    g11 = g[4]!,
    g12 = g[3]!,
    g13 = g[2]!,
    g14 = g[1]!,
    g15 = g[0]!;
  const on = validLength(n, 31, step);
  for (let y = 0; y < rows; y++) {
    const row = y * n;
    for (let j = 0; j < on; j++) {
      const m = row + j * step + 15;
      let s = src[m]! * g0;
      s += (src[m - 1]! + src[m + 1]!) * g1;
      s += (src[m - 2]! + src[m + 2]!) * g2;
      s += (src[m - 3]! + src[m + 3]!) * g3;
      s += (src[m - 4]! + src[m + 4]!) * g4;
      s += (src[m - 5]! + src[m + 5]!) * g5;
      s += (src[m - 6]! + src[m + 6]!) * g6;
      s += (src[m - 7]! + src[m + 7]!) * g7;
      s += (src[m - 8]! + src[m + 8]!) * g8;
      s += (src[m - 9]! + src[m + 9]!) * g9;
      s += (src[m - 10]! + src[m + 10]!) * g10;
      s += (src[m - 11]! + src[m + 11]!) * g11;
      s += (src[m - 12]! + src[m + 12]!) * g12;
      s += (src[m - 13]! + src[m + 13]!) * g13;
      s += (src[m - 14]! + src[m + 14]!) * g14;
      s += (src[m - 15]! + src[m + 15]!) * g15;
      dst[j * rows + y] = s;
    }
  }
}

function passGeneric(
  src: Float64Array,
  rows: number,
  n: number,
  g: Float64Array,
  step: number,
  dst: Float64Array,
): void {
  const r = (g.length - 1) >> 1;
  const c = g[r]!;
  const on = validLength(n, g.length, step);
  for (let y = 0; y < rows; y++) {
    const row = y * n;
    for (let j = 0; j < on; j++) {
      const m = row + j * step + r;
      let s = src[m]! * c;
      for (let t = 1; t <= r; t++) s += (src[m - t]! + src[m + t]!) * g[r - t]!;
      dst[j * rows + y] = s;
    }
  }
}

const PASSES: Record<number, typeof passGeneric> = {
  3: pass3,
  5: pass5,
  9: pass9,
  11: pass11,
  17: pass17,
  31: pass31,
};

/**
 * One pass: for each of `rows` rows of length `n` in `src`, writes the valid filter outputs
 * (every `step`-th) transposed: dst[j * rows + r].
 */
function pass(
  src: Float64Array,
  rows: number,
  n: number,
  g: Float64Array,
  step: number,
  dst: Float64Array,
): void {
  (PASSES[g.length] ?? passGeneric)(src, rows, n, g, step, dst);
}

/** Reusable scratch for {@link filterValid}. */
export class Scratch {
  private buf = new Float64Array(0);
  get(n: number): Float64Array {
    if (this.buf.length < n) this.buf = new Float64Array(n);
    return this.buf;
  }
}

/**
 * 'valid' correlation of a w x h image with g (x) g, keeping every step-th output in each direction.
 * Returns the output width and height; `out` receives ow * oh values row-major.
 */
export function filterValid(
  src: Float64Array,
  w: number,
  h: number,
  g: Float64Array,
  step: number,
  out: Float64Array,
  scratch: Scratch,
  allowWasm = true,
): { ow: number; oh: number } {
  const ow = validLength(w, g.length, step);
  const oh = validLength(h, g.length, step);
  if (ow === 0 || oh === 0) return { ow, oh };
  if (allowWasm && step === 1 && filterValidWasm(src, w, h, g, ow, oh, out)) return { ow, oh };
  const t = scratch.get(ow * h);
  pass(src, h, w, g, step, t); // t is ow rows of length h
  pass(t, ow, h, g, step, out); // out is oh rows of length ow
  return { ow, oh };
}

/**
 * Both passes on buffers already in the kernel's memory (byte offsets): taps at `tapsAt`
 * (r + 1 doubles), image at `srcAt`, transposed intermediate at `tmpAt`, result at `dstAt`.
 */
export function filterInWasm(
  ex: NonNullable<ReturnType<typeof wasmPass>>,
  mem: Float64Array,
  g: Float64Array,
  w: number,
  h: number,
  tapsAt: number,
  srcAt: number,
  tmpAt: number,
  dstAt: number,
): void {
  const r = (g.length - 1) >> 1;
  mem[tapsAt / 8] = g[r]!;
  for (let t = 1; t <= r; t++) mem[tapsAt / 8 + t] = g[r - t]!;
  ex.pass(srcAt, h, w, tapsAt, r, tmpAt);
  ex.pass(tmpAt, w - 2 * r, h, tapsAt, r, dstAt);
}

/** Both passes in WebAssembly memory: taps, image, transposed intermediate, result. */
function filterValidWasm(
  src: Float64Array,
  w: number,
  h: number,
  g: Float64Array,
  ow: number,
  oh: number,
  out: Float64Array,
): boolean {
  const ex = wasmPass();
  if (!ex) return false;
  const r = (g.length - 1) >> 1;
  const taps = 0; // r + 1 doubles
  const srcAt = 8 * (r + 1);
  const tmpAt = srcAt + 8 * w * h;
  const outAt = tmpAt + 8 * ow * h;
  if (!ensureMemory(ex.memory, outAt + 8 * ow * oh)) return false;
  const mem = new Float64Array(ex.memory.buffer);
  mem[0] = g[r]!;
  for (let t = 1; t <= r; t++) mem[t] = g[r - t]!;
  mem.set(src.subarray(0, w * h), srcAt / 8);
  ex.pass(srcAt, h, w, taps, r, tmpAt);
  ex.pass(tmpAt, ow, h, taps, r, outAt);
  out.set(mem.subarray(outAt / 8, outAt / 8 + ow * oh));
  return true;
}

/**
 * Sums over every k x k window ('valid'), by running sums along rows then columns. Exact for integer
 * data (sums stay far below 2^53).
 */
export function boxSumValid(
  src: Float64Array,
  w: number,
  h: number,
  k: number,
  out: Float64Array,
  scratch: Scratch,
): void {
  const ow = w - k + 1;
  const oh = h - k + 1;
  const t = scratch.get(ow * h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let s = 0;
    for (let x = 0; x < k; x++) s += src[row + x]!;
    t[y * ow] = s;
    for (let x = 1; x < ow; x++) {
      s += src[row + x + k - 1]! - src[row + x - 1]!;
      t[y * ow + x] = s;
    }
  }
  for (let x = 0; x < ow; x++) out[x] = 0;
  for (let y = 0; y < k; y++) for (let x = 0; x < ow; x++) out[x]! += t[y * ow + x]!;
  for (let y = 1; y < oh; y++) {
    const o = y * ow;
    const prev = o - ow;
    const add = (y + k - 1) * ow;
    const sub = (y - 1) * ow;
    for (let x = 0; x < ow; x++) out[o + x] = out[prev + x]! + t[add + x]! - t[sub + x]!;
  }
}

// Xydeas-Petrovic edge-preservation Qabf, with the reference's quirks (see the fixtures README):
// Sobel by true 2-D convolution with zero padding, alpha = pi/2 where Sx = 0, G = gF when gX == gF,
// border responses included. One fused pass over the three zero-padded images: no per-pixel arrays.

import type { Gray } from "../plane.js";
import { ensureMemory } from "./wasm-asm.js";
import { IMAGES_AT, RESULT_AT, wasmQabf } from "./wasm-qabf.js";

const HALF_PI = Math.PI / 2;

/** Zero-padded copy with a 1-pixel border, so the Sobel loop needs no bounds checks. */
function padZero(img: Gray, scale: number): Float64Array {
  const { w, h, d } = img;
  const pw = w + 2;
  const p = new Float64Array(pw * (h + 2));
  for (let y = 0; y < h; y++) {
    const o = (y + 1) * pw + 1;
    for (let x = 0; x < w; x++) p[o + x] = d[y * w + x]! * scale;
  }
  return p;
}

/** Q_XF * gX for one source pixel against the fused pixel (0 where gX = 0: Q is always finite). */
function weightedQ(gX: number, aX: number, gF: number, aF: number): number {
  const G = gX > gF ? gF / gX : gX === gF ? gF : gX / gF;
  const A = 1 - Math.abs(aX - aF) / HALF_PI;
  return (0.9994 / (1 + Math.exp(-15 * (G - 0.5)))) * (0.9879 / (1 + Math.exp(-22 * (A - 0.8)))) * gX;
}

/**
 * Qabf; `scale` multiplies the images first (1 for CDDFuse, 255 for VIFB's quirk). Runs the
 * WebAssembly SIMD kernel (wasm-qabf.ts) when available, else {@link qabfJs}.
 */
export function qabf(a: Gray, b: Gray, f: Gray, scale: number): number {
  const ex = wasmQabf();
  return ex ? qabfWasm(ex, a, b, f, scale) : qabfJs(a, b, f, scale);
}

function qabfWasm(
  ex: NonNullable<ReturnType<typeof wasmQabf>>,
  a: Gray,
  b: Gray,
  f: Gray,
  scale: number,
): number {
  const { w, h } = a;
  const pw = w + 2;
  const size = pw * (h + 2);
  if (!ensureMemory(ex.memory, IMAGES_AT + 3 * 8 * size + 64)) return qabfJs(a, b, f, scale);
  const mem = new Float64Array(ex.memory.buffer);
  const at = [0, 1, 2].map((k) => IMAGES_AT / 8 + k * size);
  [a, b, f].forEach((img, k) => {
    const p = mem.subarray(at[k]!, at[k]! + size);
    // Only the border needs zeroing: every interior cell is overwritten below.
    p.fill(0, 0, pw + 1);
    p.fill(0, size - pw - 1);
    for (let y = 0; y < h; y++) {
      const o = (y + 1) * pw + 1;
      p[o - 1] = 0;
      p[o + w] = 0;
      // x * 1 is x exactly, so the CDDFuse scale is a plain row copy
      if (scale === 1) p.set(img.d.subarray(y * w, y * w + w), o);
      else for (let x = 0; x < w; x++) p[o + x] = img.d[y * w + x]! * scale;
    }
  });
  ex.qabf(at[0]! * 8, at[1]! * 8, at[2]! * 8, w, h, RESULT_AT);
  return mem[RESULT_AT / 8]! / mem[RESULT_AT / 8 + 1]!;
}

/** Qabf in plain JavaScript (the reference path and the fallback). */
export function qabfJs(a: Gray, b: Gray, f: Gray, scale: number): number {
  const { w, h } = a;
  const pa = padZero(a, scale);
  const pb = padZero(b, scale);
  const pf = padZero(f, scale);
  const pw = w + 2;
  let nume = 0;
  let deno = 0;
  for (let y = 0; y < h; y++) {
    let o = (y + 1) * pw + 1;
    for (let x = 0; x < w; x++, o++) {
      // scipy convolve2d with h3 = [-1 0 1; -2 0 2; -1 0 1] gives sx, with h1 = [1 2 1; 0 0 0; -1 -2 -1] sy.
      let tl = pa[o - pw - 1]!;
      let tr = pa[o - pw + 1]!;
      let bl = pa[o + pw - 1]!;
      let br = pa[o + pw + 1]!;
      const sxA = tl - tr + 2 * (pa[o - 1]! - pa[o + 1]!) + bl - br;
      const syA = bl - tl + 2 * (pa[o + pw]! - pa[o - pw]!) + br - tr;
      tl = pb[o - pw - 1]!;
      tr = pb[o - pw + 1]!;
      bl = pb[o + pw - 1]!;
      br = pb[o + pw + 1]!;
      const sxB = tl - tr + 2 * (pb[o - 1]! - pb[o + 1]!) + bl - br;
      const syB = bl - tl + 2 * (pb[o + pw]! - pb[o - pw]!) + br - tr;
      const gA = Math.sqrt(sxA * sxA + syA * syA);
      const gB = Math.sqrt(sxB * sxB + syB * syB);
      deno += gA + gB;
      if (gA === 0 && gB === 0) continue;
      tl = pf[o - pw - 1]!;
      tr = pf[o - pw + 1]!;
      bl = pf[o + pw - 1]!;
      br = pf[o + pw + 1]!;
      const sxF = tl - tr + 2 * (pf[o - 1]! - pf[o + 1]!) + bl - br;
      const syF = bl - tl + 2 * (pf[o + pw]! - pf[o - pw]!) + br - tr;
      const gF = Math.sqrt(sxF * sxF + syF * syF);
      const aF = sxF === 0 ? HALF_PI : Math.atan(syF / sxF);
      if (gA !== 0) nume += weightedQ(gA, sxA === 0 ? HALF_PI : Math.atan(syA / sxA), gF, aF);
      if (gB !== 0) nume += weightedQ(gB, sxB === 0 ? HALF_PI : Math.atan(syB / sxB), gF, aF);
    }
  }
  return nume / deno;
}

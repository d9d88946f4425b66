// Pixel-domain multi-scale VIF (Sheikh & Bovik `vifp_mscale`), computed for two references against one
// distorted image at once so the distorted image's statistics are filtered once.
//
// Speed: every window is a separable Gaussian, so each local moment is two 1-D passes; the log10 sums
// are accumulated as products and converted with one log10 per block of terms.

import type { Gray } from "../plane.js";
import { gaussianTaps } from "./filters.js";
import { filterInWasm, filterValid, Scratch, validLength } from "./separable.js";
import { ensureMemory } from "./wasm-asm.js";
import { wasmPass } from "./wasm-pass.js";
import { wasmVifTerms } from "./wasm-vif.js";

/**
 * How 'valid' filtering treats an image smaller than the window:
 * - "scipy": scipy `convolve2d` swaps the operands when the image is smaller in both dimensions
 *   (the CDDFuse evaluator); smaller in one dimension only is a scipy error, reported as NaN.
 * - "matlab": `filter2` returns an empty result, which adds nothing to the sums (Tang's MATLAB).
 */
export type SmallImageMode = "scipy" | "matlab";

const EPS = 1e-10;
const SIGMA_NSQ = 2;

interface Img {
  w: number;
  h: number;
  d: Float64Array;
}

class SmallImageError extends Error {}

/** Naive swapped 'valid' convolution (only for images smaller than the window: tiny sizes). */
function swappedValid(img: Img, g: Float64Array): Img {
  const k = g.length;
  const ow = k - img.w + 1;
  const oh = k - img.h + 1;
  const out = new Float64Array(ow * oh);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      let s = 0;
      for (let py = 0; py < img.h; py++) {
        const gy = g[k - img.h - oy + py]!;
        for (let px = 0; px < img.w; px++) s += img.d[py * img.w + px]! * gy * g[k - img.w - ox + px]!;
      }
      out[oy * ow + ox] = s;
    }
  }
  return { w: ow, h: oh, d: out };
}

/** Buffers for one vifMulti call, sized for scale 1 and reused (as prefixes) at coarser scales. */
class Buffers {
  readonly scratch = new Scratch();
  private readonly pool: Float64Array[] = [];
  constructor(private readonly size: number) {}
  /** The i-th buffer, at least n long (views of one allocation per slot). */
  get(i: number, n: number): Float64Array {
    let b = this.pool[i];
    if (!b || b.length < n) {
      b = new Float64Array(Math.max(n, this.size));
      this.pool[i] = b;
    }
    return b.subarray(0, n);
  }
}

class Filterer {
  constructor(
    readonly taps: Float64Array,
    private readonly mode: SmallImageMode,
    private readonly buffers: Buffers,
  ) {}

  /**
   * 'valid' filtering (every step-th output) with the mode's small-image rule; may return an empty
   * image. The result lives in buffer slot `slot` (or is freshly allocated when slot < 0).
   */
  run(img: Img, step: number, slot: number): Img {
    const k = this.taps.length;
    if (img.w === 0 || img.h === 0) return { w: 0, h: 0, d: new Float64Array(0) };
    if (img.w >= k && img.h >= k) {
      const ow = validLength(img.w, k, step);
      const oh = validLength(img.h, k, step);
      const out = slot < 0 ? new Float64Array(ow * oh) : this.buffers.get(slot, ow * oh);
      filterValid(img.d, img.w, img.h, this.taps, step, out, this.buffers.scratch);
      return { w: ow, h: oh, d: out };
    }
    if (this.mode === "matlab") return { w: 0, h: 0, d: new Float64Array(0) };
    if (img.w <= k && img.h <= k) {
      const full = swappedValid(img, this.taps);
      return step === 1 ? full : decimate(full);
    }
    throw new SmallImageError();
  }
}

function product(x: Img, y: Img, out: Float64Array): Img {
  const d = out.subarray(0, x.d.length);
  for (let i = 0; i < d.length; i++) d[i] = x.d[i]! * y.d[i]!;
  return { w: x.w, h: x.h, d };
}

function decimate(x: Img): Img {
  const w = Math.ceil(x.w / 2);
  const h = Math.ceil(x.h / 2);
  const d = new Float64Array(w * h);
  for (let y = 0; y < h; y++) for (let i = 0; i < w; i++) d[y * w + i] = x.d[2 * y * x.w + 2 * i]!;
  return { w, h, d };
}

/** Accumulates sum(log10(t_i)) for t_i >= 1 with few log10 calls. */
class LogSum {
  private prod = 1;
  private sum = 0;
  add(t: number): void {
    if (t > 1e30) {
      this.sum += Math.log10(t);
      return;
    }
    this.prod *= t;
    if (this.prod > 1e200) {
      this.sum += Math.log10(this.prod);
      this.prod = 1;
    }
  }
  value(): number {
    return this.sum + Math.log10(this.prod);
  }
}

/**
 * VIF(ref_k, dist) for each reference. Returns NaN for a reference when num/den is 0/0 (`nanAsOne`
 * replaces that by 1, as the CDDFuse evaluator does), and NaN for all in "scipy" mode when scipy would
 * raise (image smaller than a window in one dimension only).
 */
export function vifMulti(
  refs: Gray[],
  dist: Gray,
  mode: SmallImageMode,
  nanAsOne: boolean,
  allowWasm = true,
): number[] {
  const num = refs.map(() => new LogSum());
  const den = refs.map(() => new LogSum());
  let r: Img[] = refs.map((x) => ({ w: x.w, h: x.h, d: x.d }));
  let f: Img = { w: dist.w, h: dist.h, d: dist.d };
  // Slots 0-4: filtered moments; 5: products. Downsampled images are allocated (they are small).
  const buffers = new Buffers(dist.w * dist.h);
  try {
    for (let scale = 1; scale <= 4; scale++) {
      const n = 2 ** (5 - scale) + 1;
      const filt = new Filterer(gaussianTaps(n, n / 5), mode, buffers);
      if (scale > 1) {
        r = r.map((x) => filt.run(x, 2, -1));
        f = filt.run(f, 2, -1);
      }
      if (allowWasm && f.w >= n && f.h >= n && scaleInWasm(r, f, filt.taps, num, den)) continue;
      const prod = buffers.get(5, f.d.length);
      const mu2 = filt.run(f, 1, 0);
      const ff = filt.run(product(f, f, prod), 1, 1);
      for (let k = 0; k < r.length; k++) {
        const ref = r[k]!;
        const mu1 = filt.run(ref, 1, 2);
        const rr = filt.run(product(ref, ref, prod), 1, 3);
        const rf = filt.run(product(ref, f, prod), 1, 4);
        accumulate(mu1.d, mu2.d, rr.d, ff.d, rf.d, num[k]!, den[k]!);
      }
    }
  } catch (err) {
    if (err instanceof SmallImageError) return refs.map(() => Number.NaN);
    throw err;
  }
  return refs.map((_, k) => {
    const v = num[k]!.value() / den[k]!.value();
    return Number.isNaN(v) && nanAsOne ? 1 : v;
  });
}

/** The per-pixel terms 1 + g^2 s1 / (sv + 2) and 1 + s1 / 2 with the reference's clamps. */
function terms(
  mu1: Float64Array,
  mu2: Float64Array,
  e11: Float64Array,
  e22: Float64Array,
  e12: Float64Array,
  tn: Float64Array,
  td: Float64Array,
): void {
  for (let i = 0; i < mu1.length; i++) {
    const m1 = mu1[i]!;
    const m2 = mu2[i]!;
    let s1 = e11[i]! - m1 * m1;
    let s2 = e22[i]! - m2 * m2;
    const s12 = e12[i]! - m1 * m2;
    if (s1 < 0) s1 = 0;
    if (s2 < 0) s2 = 0;
    let g = s12 / (s1 + EPS);
    let sv = s2 - g * s12;
    if (s1 < EPS) {
      g = 0;
      sv = s2;
      s1 = 0;
    }
    if (s2 < EPS) {
      g = 0;
      sv = 0;
    }
    if (g < 0) {
      sv = s2;
      g = 0;
    }
    if (sv <= EPS) sv = EPS;
    tn[i] = 1 + (g * g * s1) / (sv + SIGMA_NSQ);
    td[i] = 1 + s1 / SIGMA_NSQ;
  }
}

/** Adds sum(log10 tn) and sum(log10 td) as running products (all terms are >= 1). */
function foldTerms(tn: Float64Array, td: Float64Array, count: number, num: LogSum, den: LogSum): void {
  let pn = 1;
  let pd = 1;
  for (let i = 0; i < count; i++) {
    const a = tn[i]!;
    const b = td[i]!;
    if (a > 1e30 || b > 1e30) {
      // huge terms (only for unusual input scales): take their logs directly
      num.add(a);
      den.add(b);
      continue;
    }
    pn *= a;
    pd *= b;
    if (pn > 1e200) {
      num.add(pn);
      pn = 1;
    }
    if (pd > 1e200) {
      den.add(pd);
      pd = 1;
    }
  }
  num.add(pn);
  den.add(pd);
}

function accumulate(
  mu1: Float64Array,
  mu2: Float64Array,
  e11: Float64Array,
  e22: Float64Array,
  e12: Float64Array,
  num: LogSum,
  den: LogSum,
): void {
  const tn = new Float64Array(mu1.length);
  const td = new Float64Array(mu1.length);
  terms(mu1, mu2, e11, e22, e12, tn, td);
  foldTerms(tn, td, mu1.length, num, den);
}

/**
 * One scale entirely in the WebAssembly kernels' memory: the images, their products, the filtered
 * moments and the per-pixel terms never leave it. Bit-identical to the JavaScript path.
 */
function scaleInWasm(refs: Img[], f: Img, g: Float64Array, num: LogSum[], den: LogSum[]): boolean {
  const ex = wasmPass();
  if (!ex) return false;
  const vt = wasmVifTerms(ex.memory);
  if (!vt) return false;
  const { w, h } = f;
  const k = g.length;
  const ow = w - k + 1;
  const oh = h - k + 1;
  const n = w * h;
  const m = ow * oh;
  // Layout in doubles; +2 pads let the two-lane kernels run one lane past an odd count.
  let next = 64;
  const alloc = (len: number): number => {
    const at = next;
    next += len + 2;
    return at;
  };
  const F = alloc(n);
  const PROD = alloc(n);
  const R = refs.map(() => alloc(n));
  const TMP = alloc(ow * h);
  const [MU2, FF, MU1, RR, RF, TN, TD] = [0, 1, 2, 3, 4, 5, 6].map(() => alloc(m)) as number[];
  if (!ensureMemory(ex.memory, 8 * next)) return false;
  const mem = new Float64Array(ex.memory.buffer);
  const filter = (src: number, dst: number): void =>
    filterInWasm(ex, mem, g, w, h, 0, 8 * src, 8 * TMP, 8 * dst);
  const product = (x: number, y: number): void => vt.mul(8 * x, 8 * y, 8 * PROD, n);
  mem.set(f.d, F);
  for (const [i, r] of refs.entries()) mem.set(r.d, R[i]!);
  filter(F, MU2!);
  product(F, F);
  filter(PROD, FF!);
  refs.forEach((_, i) => {
    filter(R[i]!, MU1!);
    product(R[i]!, R[i]!);
    filter(PROD, RR!);
    product(R[i]!, F);
    filter(PROD, RF!);
    vt.terms(8 * MU1!, 8 * MU2!, 8 * RR!, 8 * FF!, 8 * RF!, 8 * TN!, 8 * TD!, m);
    foldTerms(mem.subarray(TN!, TN! + m), mem.subarray(TD!, TD! + m), m, num[i]!, den[i]!);
  });
  return true;
}

// Haghighat's feature mutual information (FMI, fast version) over 3x3 sliding windows, with the
// reference's per-window "pdf" construction (min-max normalise, divide by the sum), its Nelsen
// Frechet-bound joint pdf and MATLAB's column-major patch order (which sets the cdf order).

import { fft1 } from "../internal/fft.js";
import type { Gray } from "../plane.js";

const L = 9;

/** Normalises a patch in place: min-max to [0,1], constant -> ones. */
function normalisePatch(p: Float64Array): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < L; i++) {
    if (p[i]! < lo) lo = p[i]!;
    if (p[i]! > hi) hi = p[i]!;
  }
  if (hi === lo) p.fill(1);
  else for (let i = 0; i < L; i++) p[i] = (p[i]! - lo) / (hi - lo);
}

function equal(x: Float64Array, y: Float64Array): boolean {
  for (let i = 0; i < L; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** -x log2 x, with MATLAB's real(-x log2 x) = -x log2|x| for negative x. */
const negXLogX = (x: number): number => -x * Math.log2(Math.abs(x));

const scratch = {
  xPdf: new Float64Array(L),
  fPdf: new Float64Array(L),
  xCdf: new Float64Array(L),
  fCdf: new Float64Array(L),
  bound: new Float64Array(L * L),
};

/**
 * fmi between a source patch and the fused patch. Both are normalised in place (the reference reuses
 * the normalised fused patch for the second source).
 */
function patchFmi(xs: Float64Array, fs: Float64Array): number {
  if (equal(xs, fs)) return 1;
  normalisePatch(xs);
  normalisePatch(fs);
  const { xPdf, fPdf, xCdf, fCdf } = scratch;
  let sx = 0;
  let sf = 0;
  for (let i = 0; i < L; i++) {
    sx += xs[i]!;
    sf += fs[i]!;
  }
  for (let i = 0; i < L; i++) {
    xPdf[i] = xs[i]! / sx;
    fPdf[i] = fs[i]! / sf;
  }
  xCdf[0] = xPdf[0]!;
  fCdf[0] = fPdf[0]!;
  for (let i = 1; i < L; i++) {
    xCdf[i] = xPdf[i]! + xCdf[i - 1]!;
    fCdf[i] = fPdf[i]! + fCdf[i - 1]!;
  }
  let mx = 0;
  let mf = 0;
  for (let i = 0; i < L; i++) {
    mx += xPdf[i]!;
    mf += fPdf[i]!;
  }
  mx /= L;
  mf /= L;
  let sxf = 0;
  let sxx = 0;
  let sff = 0;
  for (let i = 0; i < L; i++) {
    const dx = xPdf[i]! - mx;
    const df = fPdf[i]! - mf;
    sxf += dx * df;
    sxx += dx * dx;
    sff += df * df;
  }
  const c = sxf === 0 ? 0 : sxf / Math.sqrt(sxx * sff);
  let ex = 0;
  let ex2 = 0;
  let ef = 0;
  let ef2 = 0;
  for (let i = 0; i < L; i++) {
    const k = i + 1;
    ex += k * xPdf[i]!;
    ex2 += k * k * xPdf[i]!;
    ef += k * fPdf[i]!;
    ef2 += k * k * fPdf[i]!;
  }
  const xSd = Math.sqrt(ex2 - ex * ex);
  const fSd = Math.sqrt(ef2 - ef * ef);
  const upper = c >= 0;
  // Frechet bound joint cdf C[i][j] of (fCdf[i], xCdf[j]): min(u, v) (upper) or max(u + v - 1, 0)
  // (lower), tabulated once; it gives both the bound's covariance and, by differences, its pmf.
  const C = scratch.bound;
  let cov = 0;
  for (let i = 0; i < L; i++) {
    const u = fCdf[i]!;
    for (let j = 0; j < L; j++) {
      const v = xCdf[j]!;
      const b = upper ? 0.5 * (u + v - Math.abs(u - v)) : 0.5 * (u + v - 1 + Math.abs(u + v - 1));
      C[i * L + j] = b;
      cov += b - u * v;
    }
  }
  let mix = 0;
  if (upper ? !(c === 0 || xSd === 0 || fSd === 0) : !(xSd === 0 || fSd === 0)) mix = c / (cov / (fSd * xSd));
  let joint = 0;
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      let jb = C[i * L + j]!;
      if (i > 0) jb -= C[(i - 1) * L + j]!;
      if (j > 0) jb -= C[i * L + j - 1]!;
      if (i > 0 && j > 0) jb += C[(i - 1) * L + j - 1]!;
      const jp = mix * jb + (1 - mix) * fPdf[i]! * xPdf[j]!;
      if (jp !== 0) joint += negXLogX(jp);
    }
  }
  let hx = 0;
  let hf = 0;
  for (let i = 0; i < L; i++) {
    if (xPdf[i] !== 0) hx -= xPdf[i]! * Math.log2(xPdf[i]!);
    if (fPdf[i] !== 0) hf -= fPdf[i]! * Math.log2(fPdf[i]!);
  }
  const mi = hx + hf - joint;
  return mi === 0 ? 0 : (2 * mi) / (hx + hf);
}

/** Copies the 3x3 patch at (y, x) (top-left) in column-major order. */
function patch(img: Float64Array, w: number, y: number, x: number, out: Float64Array): void {
  let k = 0;
  for (let c = 0; c < 3; c++) for (let r = 0; r < 3; r++) out[k++] = img[(y + r) * w + x + c]!;
}

function fmiOfFeatures(a: Float64Array, b: Float64Array, f: Float64Array, w: number, h: number): number {
  const pa = new Float64Array(L);
  const pb = new Float64Array(L);
  const pf = new Float64Array(L);
  let total = 0;
  for (let y = 0; y + 3 <= h; y++) {
    for (let x = 0; x + 3 <= w; x++) {
      patch(a, w, y, x, pa);
      patch(b, w, y, x, pb);
      patch(f, w, y, x, pf);
      const af = patchFmi(pa, pf);
      const bf = patchFmi(pb, pf);
      total += (af + bf) / 2;
    }
  }
  return total / ((w - 2) * (h - 2));
}

/**
 * Orthonormal DCT-II of one line through an n-point FFT (Makhoul's even/odd reordering). The AC terms
 * are computed on the line minus its first sample (AC basis vectors sum to zero), so a constant line
 * gets exactly zero AC coefficients, as MATLAB/Octave's dct2 gives: FMI compares patches for equality,
 * so rounding noise there would change the result.
 */
function dctLine(
  src: Float64Array,
  n: number,
  dst: Float64Array,
  re: Float64Array,
  im: Float64Array,
  c: Float64Array,
  s: Float64Array,
): void {
  const x0 = src[0]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += src[i]!;
  for (let k = 0; 2 * k < n; k++) re[k] = src[2 * k]! - x0;
  for (let k = 0; 2 * k + 1 < n; k++) re[n - 1 - k] = src[2 * k + 1]! - x0;
  im.fill(0);
  fft1(re, im, false);
  dst[0] = Math.sqrt(1 / n) * sum;
  const scale = Math.sqrt(2 / n);
  for (let k = 1; k < n; k++) dst[k] = scale * (re[k]! * c[k]! + im[k]! * s[k]!);
}

/** Orthonormal 2-D DCT-II (MATLAB dct2): DCT of every row, then of every column. */
export function dct2(img: Gray): Float64Array {
  const { w, h, d } = img;
  const twiddles = (n: number): [Float64Array, Float64Array] => {
    const c = new Float64Array(n);
    const s = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      c[k] = Math.cos((Math.PI * k) / (2 * n));
      s[k] = Math.sin((Math.PI * k) / (2 * n));
    }
    return [c, s];
  };
  const [cw, sw] = twiddles(w);
  const [ch, sh] = twiddles(h);
  const rows = new Float64Array(w * h);
  let re = new Float64Array(w);
  let im = new Float64Array(w);
  for (let y = 0; y < h; y++)
    dctLine(d.subarray(y * w, y * w + w), w, rows.subarray(y * w, y * w + w), re, im, cw, sw);
  const out = new Float64Array(w * h);
  const col = new Float64Array(h);
  const res = new Float64Array(h);
  re = new Float64Array(h);
  im = new Float64Array(h);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) col[y] = rows[y * w + x]!;
    dctLine(col, h, res, re, im, ch, sh);
    for (let y = 0; y < h; y++) out[y * w + x] = res[y]!;
  }
  return out;
}

/** FMI on raw pixels ('none'). NaN for images smaller than 3x3. */
export function fmiPixel(a: Gray, b: Gray, f: Gray): number {
  if (a.w < 3 || a.h < 3) return Number.NaN;
  return fmiOfFeatures(a.d, b.d, f.d, a.w, a.h);
}

/** FMI on orthonormal DCT-II coefficients of each whole image ('dct'). */
export function fmiDct(a: Gray, b: Gray, f: Gray): number {
  if (a.w < 3 || a.h < 3) return Number.NaN;
  return fmiOfFeatures(dct2(a), dct2(b), dct2(f), a.w, a.h);
}

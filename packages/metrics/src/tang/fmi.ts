// Haghighat's feature mutual information (FMI, fast version) over 3x3 sliding windows, with the
// reference's per-window "pdf" construction (min-max normalise, divide by the sum), its Nelsen
// Frechet-bound joint pdf and MATLAB's column-major patch order (which sets the cdf order).

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
  // Frechet bound joint cdf between fCdf[i] and xCdf[j]; index -1 stands for the zero boundary.
  const bound = upper
    ? (u: number, v: number): number => 0.5 * (u + v - Math.abs(u - v))
    : (u: number, v: number): number => 0.5 * (u + v - 1 + Math.abs(u + v - 1));
  let mix = 0;
  if (upper ? !(c === 0 || xSd === 0 || fSd === 0) : !(xSd === 0 || fSd === 0)) {
    let cov = 0;
    for (let i = 0; i < L; i++)
      for (let j = 0; j < L; j++) cov += bound(fCdf[i]!, xCdf[j]!) - fCdf[i]! * xCdf[j]!;
    mix = c / (cov / (fSd * xSd));
  }
  let joint = 0;
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      let jb = bound(fCdf[i]!, xCdf[j]!);
      if (i > 0) jb -= bound(fCdf[i - 1]!, xCdf[j]!);
      if (j > 0) jb -= bound(fCdf[i]!, xCdf[j - 1]!);
      if (i > 0 && j > 0) jb += bound(fCdf[i - 1]!, xCdf[j - 1]!);
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

/** Orthonormal 2-D DCT-II (MATLAB dct2). */
export function dct2(img: Gray): Float64Array {
  const { w, h, d } = img;
  const table = (n: number): Float64Array => {
    const t = new Float64Array(n * n);
    for (let k = 0; k < n; k++) {
      const s = k === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
      for (let i = 0; i < n; i++) t[k * n + i] = s * Math.cos((Math.PI * (2 * i + 1) * k) / (2 * n));
    }
    return t;
  };
  const tw = table(w);
  const th = table(h);
  // AC basis vectors sum to zero, so they can be applied to the signal minus its first sample: a
  // constant row or column then gets exactly zero AC coefficients, as MATLAB/Octave's dct2 gives (FMI
  // compares patches for equality, so rounding noise there would change the result).
  const line = (src: Float64Array, n: number, t: Float64Array, dst: Float64Array): void => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += src[i]!;
    dst[0] = t[0]! * sum;
    const x0 = src[0]!;
    for (let k = 1; k < n; k++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += t[k * n + i]! * (src[i]! - x0);
      dst[k] = s;
    }
  };
  const rows = new Float64Array(w * h);
  for (let y = 0; y < h; y++) line(d.subarray(y * w, y * w + w), w, tw, rows.subarray(y * w, y * w + w));
  const out = new Float64Array(w * h);
  const col = new Float64Array(h);
  const res = new Float64Array(h);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) col[y] = rows[y * w + x]!;
    line(col, h, th, res);
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

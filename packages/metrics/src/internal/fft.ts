// Complex FFT of any length (radix-2 for powers of two, Bluestein's chirp-z otherwise) and
// frequency-domain filtering of real images with a real, even transfer function, as MATLAB code does
// with ifft2(ifftshift(fftshift(fft2(x)) .* H)).

interface Plan {
  n: number;
  fft(re: Float64Array, im: Float64Array, inverse: boolean): void;
}

/** Factors n into radices, 4s first (fewer passes), then 2, 3, 5, 7, ... */
function factorize(n: number): number[] {
  const f: number[] = [];
  while (n % 4 === 0) {
    f.push(4);
    n /= 4;
  }
  for (let p = 2; n > 1; p++) {
    while (n % p === 0) {
      f.push(p);
      n /= p;
    }
    if (p * p > n && n > 1) {
      f.push(n);
      break;
    }
  }
  return f;
}

/**
 * Mixed-radix decimation-in-time FFT for lengths whose prime factors are small. One table of
 * N-th roots of unity serves every level (a sub-transform of length n uses every (N/n)-th entry).
 */
function mixedRadix(n: number): Plan {
  const factors = factorize(n);
  const cos = new Float64Array(n);
  const sin = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    cos[j] = Math.cos((2 * Math.PI * j) / n);
    sin[j] = Math.sin((2 * Math.PI * j) / n);
  }
  const maxP = Math.max(...factors, 1);
  const tr = new Float64Array(maxP);
  const ti = new Float64Array(maxP);
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  // out[o .. o+len) = DFT of in[off + stride * i], i < len; `level` indexes factors.
  const rec = (
    inRe: Float64Array,
    inIm: Float64Array,
    off: number,
    stride: number,
    len: number,
    o: number,
    level: number,
    sign: number,
  ): void => {
    if (len === 1) {
      outRe[o] = inRe[off]!;
      outIm[o] = inIm[off]!;
      return;
    }
    const p = factors[level]!;
    const m = len / p;
    for (let r = 0; r < p; r++) rec(inRe, inIm, off + stride * r, stride * p, m, o + r * m, level + 1, sign);
    const tw = n / len; // table step for w_len
    const twp = n / p; // table step for w_p
    for (let k = 0; k < m; k++) {
      for (let r = 0; r < p; r++) {
        const idx = r * k * tw; // r * k < p * m = len
        const c = cos[idx]!;
        const s = sign * sin[idx]!;
        const yr = outRe[o + r * m + k]!;
        const yi = outIm[o + r * m + k]!;
        tr[r] = yr * c - yi * s;
        ti[r] = yr * s + yi * c;
      }
      if (p === 2) {
        outRe[o + k] = tr[0]! + tr[1]!;
        outIm[o + k] = ti[0]! + ti[1]!;
        outRe[o + m + k] = tr[0]! - tr[1]!;
        outIm[o + m + k] = ti[0]! - ti[1]!;
      } else if (p === 4) {
        const ar = tr[0]! + tr[2]!;
        const ai = ti[0]! + ti[2]!;
        const br = tr[0]! - tr[2]!;
        const bi = ti[0]! - ti[2]!;
        const cr = tr[1]! + tr[3]!;
        const ci = ti[1]! + ti[3]!;
        // (t1 - t3) times w_4 = -i (forward) or +i (inverse).
        const dr = sign * -(ti[1]! - ti[3]!);
        const di = sign * (tr[1]! - tr[3]!);
        outRe[o + k] = ar + cr;
        outIm[o + k] = ai + ci;
        outRe[o + m + k] = br + dr;
        outIm[o + m + k] = bi + di;
        outRe[o + 2 * m + k] = ar - cr;
        outIm[o + 2 * m + k] = ai - ci;
        outRe[o + 3 * m + k] = br - dr;
        outIm[o + 3 * m + k] = bi - di;
      } else {
        for (let q = 0; q < p; q++) {
          let sr = 0;
          let si = 0;
          for (let r = 0; r < p; r++) {
            const idx = ((r * q) % p) * twp;
            const c = cos[idx]!;
            const s = sign * sin[idx]!;
            sr += tr[r]! * c - ti[r]! * s;
            si += tr[r]! * s + ti[r]! * c;
          }
          outRe[o + q * m + k] = sr;
          outIm[o + q * m + k] = si;
        }
      }
    }
  };
  return {
    n,
    fft(re, im, inverse) {
      rec(re, im, 0, 1, n, 0, 0, inverse ? 1 : -1);
      re.set(outRe);
      im.set(outIm);
    },
  };
}

function bluestein(n: number): Plan {
  let m = 1;
  while (m < 2 * n - 1) m *= 2;
  const inner = mixedRadix(m);
  // chirp w[k] = exp(-i pi k^2 / n); k^2 mod 2n keeps the angle accurate for large k.
  const cr = new Float64Array(n);
  const ci = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const a = (Math.PI * ((k * k) % (2 * n))) / n;
    cr[k] = Math.cos(a);
    ci[k] = -Math.sin(a);
  }
  // FFT of the conjugate chirp, zero-padded and wrapped.
  const br = new Float64Array(m);
  const bi = new Float64Array(m);
  br[0] = cr[0]!;
  bi[0] = -ci[0]!;
  for (let k = 1; k < n; k++) {
    br[k] = br[m - k] = cr[k]!;
    bi[k] = bi[m - k] = -ci[k]!;
  }
  inner.fft(br, bi, false);
  const ar = new Float64Array(m);
  const ai = new Float64Array(m);
  return {
    n,
    fft(re, im, inverse) {
      // The inverse transform is the forward one on conjugated data, conjugated back.
      const s = inverse ? -1 : 1;
      ar.fill(0);
      ai.fill(0);
      for (let k = 0; k < n; k++) {
        const xr = re[k]!;
        const xi = s * im[k]!;
        ar[k] = xr * cr[k]! - xi * ci[k]!;
        ai[k] = xr * ci[k]! + xi * cr[k]!;
      }
      inner.fft(ar, ai, false);
      for (let k = 0; k < m; k++) {
        const xr = ar[k]! * br[k]! - ai[k]! * bi[k]!;
        const xi = ar[k]! * bi[k]! + ai[k]! * br[k]!;
        ar[k] = xr;
        ai[k] = xi;
      }
      inner.fft(ar, ai, true);
      for (let k = 0; k < n; k++) {
        const xr = ar[k]! / m;
        const xi = ai[k]! / m;
        re[k] = xr * cr[k]! - xi * ci[k]!;
        im[k] = s * (xr * ci[k]! + xi * cr[k]!);
      }
    },
  };
}

const plans = new Map<number, Plan>();

/** Mixed radix when the largest prime factor is small, Bluestein otherwise; plans are cached. */
function plan(n: number): Plan {
  let p = plans.get(n);
  if (!p) {
    p = Math.max(...factorize(n), 1) <= 61 ? mixedRadix(n) : bluestein(n);
    if (plans.size > 32) plans.clear();
    plans.set(n, p);
  }
  return p;
}

/** In-place unnormalised 1-D DFT of re + i im (inverse: conjugate kernel, no 1/N scaling). */
export function fft1(re: Float64Array, im: Float64Array, inverse: boolean): void {
  plan(re.length).fft(re, im, inverse);
}

/** In-place unnormalised 2-D DFT (inverse: conjugate kernel, no 1/N scaling) of an h x w array. */
export function fft2(re: Float64Array, im: Float64Array, w: number, h: number, inverse: boolean): void {
  const px = plan(w);
  const py = plan(h);
  const rr = new Float64Array(Math.max(w, h));
  const ri = new Float64Array(Math.max(w, h));
  for (let y = 0; y < h; y++) {
    const o = y * w;
    const r = re.subarray(o, o + w);
    const i = im.subarray(o, o + w);
    px.fft(r, i, inverse);
  }
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      rr[y] = re[y * w + x]!;
      ri[y] = im[y * w + x]!;
    }
    py.fft(rr, ri, inverse);
    for (let y = 0; y < h; y++) {
      re[y * w + x] = rr[y]!;
      im[y * w + x] = ri[y]!;
    }
  }
}

/** MATLAB `freqspace` coordinate of unshifted DFT bin k of an n-point axis: signed index * 2/n. */
export function freqOfBin(k: number, n: number): number {
  const half = Math.floor(n / 2);
  const s = k < n - half ? k : k - n;
  return (s * 2) / n;
}

/**
 * ifft2(fft2(img) .* H) where H(fy, fx) is evaluated on freqspace coordinates (fx along the width,
 * fy along the height). Returns the real and imaginary parts: for a real, even H the imaginary part
 * is rounding residue, which MATLAB code keeps (it matters where the real part is itself that small).
 */
export function filterInFrequencyComplex(
  img: Float64Array,
  w: number,
  h: number,
  H: (fy: number, fx: number) => number,
): { re: Float64Array; im: Float64Array } {
  const re = Float64Array.from(img);
  const im = new Float64Array(w * h);
  fft2(re, im, w, h, false);
  const hx = new Float64Array(w);
  for (let x = 0; x < w; x++) hx[x] = freqOfBin(x, w);
  for (let y = 0; y < h; y++) {
    const fy = freqOfBin(y, h);
    for (let x = 0; x < w; x++) {
      const t = H(fy, hx[x]!);
      re[y * w + x]! *= t;
      im[y * w + x]! *= t;
    }
  }
  fft2(re, im, w, h, true);
  const scale = 1 / (w * h);
  for (let i = 0; i < re.length; i++) {
    re[i]! *= scale;
    im[i]! *= scale;
  }
  return { re, im };
}

/** Real part of {@link filterInFrequencyComplex}. */
export function filterInFrequency(
  img: Float64Array,
  w: number,
  h: number,
  H: (fy: number, fx: number) => number,
): Float64Array {
  return filterInFrequencyComplex(img, w, h, H).re;
}

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
 * Mixed-radix Stockham autosort FFT (decimation in frequency) for lengths whose prime factors are
 * small. Stage with radix p on sub-length n = p m and stride s: for each of the s interleaved
 * sequences, y[q + s (p j + t)] = w_n^(j t) * sum_r x[q + s (j + r m)] w_p^(r t); the output comes
 * out in natural order, ping-ponging between two buffers. One table of N-th roots serves all stages.
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
  const ar = new Float64Array(maxP);
  const ai = new Float64Array(maxP);
  const bufRe = new Float64Array(n);
  const bufIm = new Float64Array(n);
  return {
    n,
    fft(re, im, inverse) {
      const sign = inverse ? 1 : -1;
      let xr: Float64Array = re;
      let xi: Float64Array = im;
      let yr: Float64Array = bufRe;
      let yi: Float64Array = bufIm;
      let len = n;
      let s = 1;
      for (const p of factors) {
        const m = len / p;
        const step = n / len; // w_len^e = table[e * step]
        const stepP = n / p;
        for (let j = 0; j < m; j++) {
          for (let q = 0; q < s; q++) {
            for (let r = 0; r < p; r++) {
              ar[r] = xr[q + s * (j + r * m)]!;
              ai[r] = xi[q + s * (j + r * m)]!;
            }
            const out = q + s * p * j;
            if (p === 2) {
              const sr = ar[0]! + ar[1]!;
              const si = ai[0]! + ai[1]!;
              const dr = ar[0]! - ar[1]!;
              const di = ai[0]! - ai[1]!;
              yr[out] = sr;
              yi[out] = si;
              const e = j * step;
              const c = cos[e]!;
              const sn = sign * sin[e]!;
              yr[out + s] = dr * c - di * sn;
              yi[out + s] = dr * sn + di * c;
            } else if (p === 4) {
              const t0r = ar[0]! + ar[2]!;
              const t0i = ai[0]! + ai[2]!;
              const t1r = ar[0]! - ar[2]!;
              const t1i = ai[0]! - ai[2]!;
              const t2r = ar[1]! + ar[3]!;
              const t2i = ai[1]! + ai[3]!;
              // (a1 - a3) * w_4, w_4 = -i (forward) or +i (inverse)
              const t3r = -sign * (ai[1]! - ai[3]!);
              const t3i = sign * (ar[1]! - ar[3]!);
              yr[out] = t0r + t2r;
              yi[out] = t0i + t2i;
              const e1 = j * step;
              const e2 = 2 * e1;
              const e3 = 3 * e1;
              const c1 = cos[e1]!;
              const s1 = sign * sin[e1]!;
              const c2 = cos[e2]!;
              const s2 = sign * sin[e2]!;
              const c3 = cos[e3]!;
              const s3 = sign * sin[e3]!;
              const v1r = t1r + t3r;
              const v1i = t1i + t3i;
              const v2r = t0r - t2r;
              const v2i = t0i - t2i;
              const v3r = t1r - t3r;
              const v3i = t1i - t3i;
              yr[out + s] = v1r * c1 - v1i * s1;
              yi[out + s] = v1r * s1 + v1i * c1;
              yr[out + 2 * s] = v2r * c2 - v2i * s2;
              yi[out + 2 * s] = v2r * s2 + v2i * c2;
              yr[out + 3 * s] = v3r * c3 - v3i * s3;
              yi[out + 3 * s] = v3r * s3 + v3i * c3;
            } else {
              for (let t = 0; t < p; t++) {
                let sr = 0;
                let si = 0;
                for (let r = 0; r < p; r++) {
                  const e = ((r * t) % p) * stepP;
                  const c = cos[e]!;
                  const sn = sign * sin[e]!;
                  sr += ar[r]! * c - ai[r]! * sn;
                  si += ar[r]! * sn + ai[r]! * c;
                }
                const e = j * t * step;
                const c = cos[e]!;
                const sn = sign * sin[e]!;
                yr[out + s * t] = sr * c - si * sn;
                yi[out + s * t] = sr * sn + si * c;
              }
            }
          }
        }
        [xr, yr] = [yr, xr];
        [xi, yi] = [yi, xi];
        len = m;
        s *= p;
      }
      if (xr !== re) {
        re.set(xr);
        im.set(xi);
      }
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

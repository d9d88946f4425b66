// Complex FFT of any length (radix-2 for powers of two, Bluestein's chirp-z otherwise) and
// frequency-domain filtering of real images with a real, even transfer function, as MATLAB code does
// with ifft2(ifftshift(fftshift(fft2(x)) .* H)).

interface Plan {
  n: number;
  fft(re: Float64Array, im: Float64Array, inverse: boolean): void;
}

function radix2(n: number): Plan {
  const levels = Math.log2(n);
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let i = 0; i < n / 2; i++) {
    cos[i] = Math.cos((2 * Math.PI * i) / n);
    sin[i] = Math.sin((2 * Math.PI * i) / n);
  }
  const rev = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < levels; b++) r |= ((i >>> b) & 1) << (levels - 1 - b);
    rev[i] = r;
  }
  return {
    n,
    fft(re, im, inverse) {
      for (let i = 0; i < n; i++) {
        const j = rev[i]!;
        if (j > i) {
          let t = re[i]!;
          re[i] = re[j]!;
          re[j] = t;
          t = im[i]!;
          im[i] = im[j]!;
          im[j] = t;
        }
      }
      const sign = inverse ? 1 : -1;
      for (let size = 2; size <= n; size *= 2) {
        const half = size / 2;
        const step = n / size;
        for (let start = 0; start < n; start += size) {
          for (let k = 0; k < half; k++) {
            const wr = cos[k * step]!;
            const wi = sign * sin[k * step]!;
            const a = start + k;
            const b = a + half;
            const xr = re[b]! * wr - im[b]! * wi;
            const xi = re[b]! * wi + im[b]! * wr;
            re[b] = re[a]! - xr;
            im[b] = im[a]! - xi;
            re[a]! += xr;
            im[a]! += xi;
          }
        }
      }
    },
  };
}

function bluestein(n: number): Plan {
  let m = 1;
  while (m < 2 * n - 1) m *= 2;
  const inner = radix2(m);
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

function plan(n: number): Plan {
  return (n & (n - 1)) === 0 ? radix2(n) : bluestein(n);
}

/** In-place unnormalised 2-D DFT (inverse: conjugate kernel, no 1/N scaling) of an h x w array. */
function fft2(re: Float64Array, im: Float64Array, w: number, h: number, inverse: boolean): void {
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
 * Real part of ifft2(fft2(img) .* H) where H(fy, fx) is evaluated on freqspace coordinates
 * (fx along the width, fy along the height).
 */
export function filterInFrequency(img: Float64Array, w: number, h: number, H: (fy: number, fx: number) => number): Float64Array {
  const re = Float64Array.from(img);
  const im = new Float64Array(w * h);
  fft2(re, im, w, h, false);
  for (let y = 0; y < h; y++) {
    const fy = freqOfBin(y, h);
    for (let x = 0; x < w; x++) {
      const t = H(fy, freqOfBin(x, w));
      re[y * w + x]! *= t;
      im[y * w + x]! *= t;
    }
  }
  fft2(re, im, w, h, true);
  const scale = 1 / (w * h);
  for (let i = 0; i < re.length; i++) re[i]! *= scale;
  return re;
}

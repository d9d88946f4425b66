import { checkRaster, type RasterImage } from "./image.js";

// 1 / (median |N(0, 1)| * std of the mask's response to unit white noise, which is 6)
const SCALE = 1 / (0.6744897501960817 * 6);
/** Fewer unclipped positions than this read as clean: too little to estimate from. */
const MIN_POSITIONS = 64;

/**
 * Estimated sensor-noise standard deviation of an image, in 8-bit units (0..255 scale, also for
 * 16-bit images). Immerkær's Laplacian difference made robust: the median absolute response of
 * [[1,-2,1],[-2,4,-2],[1,-2,1]] (which cancels planes and ramps; 6 sigma for white noise) over the
 * positions whose 3x3 neighbourhood is not clipped at black or white, since clipping hides half the
 * noise in dark backgrounds. Colour: the mean of the R, G, B estimates; alpha is ignored. On the
 * test sources, clean images read 0.5-2.5 on average per task (none above 3.5) and Gaussian noise
 * of std 15 reads 14.5-15.3 (training/reports/noise-estimate.md). The same number as the Python reference
 * (`fccf_train.noise.estimate_noise`), which the parity fixtures check.
 *
 * @example
 * ```ts
 * import { estimateNoise } from "@fccf/tasks";
 * const sigma = estimateNoise(image); // e.g. 14.8 for a photo with Gaussian noise of std 15
 * ```
 */
export function estimateNoise(img: RasterImage): number {
  checkRaster(img);
  const colour = img.channels >= 3 ? 3 : 1;
  let sum = 0;
  for (let c = 0; c < colour; c++) sum += estimateChannelNoise(img, c);
  return sum / colour;
}

function estimateChannelNoise(img: RasterImage, c: number): number {
  const { width: w, height: h, channels, bitDepth, data } = img;
  if (w < 3 || h < 3) return 0;
  const max = bitDepth === 8 ? 255 : 65535;
  const n = w * h;
  const v = new Int32Array(n);
  // 1 where the sample is clipped at black or white
  const clip = new Uint8Array(n);
  for (let i = 0, j = c; i < n; i++, j += channels) {
    const s = data[j]!;
    v[i] = s;
    clip[i] = s <= 0 || s >= max ? 1 : 0;
  }
  // the residual of integer samples is an integer in [0, 16 max]: a histogram gives its exact median
  // in linear time (sorting 300k values per channel cost more than the network's forward)
  const hist = new Uint32Array(16 * max + 1);
  let count = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const up = i - w;
      const down = i + w;
      if (
        clip[up - 1]! |
        clip[up]! |
        clip[up + 1]! |
        clip[i - 1]! |
        clip[i]! |
        clip[i + 1]! |
        clip[down - 1]! |
        clip[down]! |
        clip[down + 1]!
      )
        continue;
      const r =
        4 * v[i]! -
        2 * (v[up]! + v[down]! + v[i - 1]! + v[i + 1]!) +
        v[up - 1]! +
        v[up + 1]! +
        v[down - 1]! +
        v[down + 1]!;
      hist[r < 0 ? -r : r]!++;
      count++;
    }
  }
  if (count < MIN_POSITIONS) return 0;
  // the lower and upper middle values, averaged for an even count (as numpy's median)
  const lo = kth(hist, (count - 1) >> 1);
  const median = count % 2 ? lo : (lo + kth(hist, count >> 1)) / 2;
  return median * (255 / max) * SCALE;
}

/** The k-th smallest value (0-based) of the multiset a histogram counts. */
function kth(hist: Uint32Array, k: number): number {
  let seen = 0;
  for (let value = 0; value < hist.length; value++) {
    seen += hist[value]!;
    if (seen > k) return value;
  }
  return hist.length - 1;
}

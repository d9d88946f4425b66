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
  const scale = 255 / max;
  const v = (x: number, y: number) => data[(y * w + x) * channels + c]!;
  const res = new Float64Array((w - 2) * (h - 2));
  let n = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      let clipped = false;
      for (let dy = -1; dy <= 1 && !clipped; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const s = v(x + dx, y + dy);
          if (s <= 0 || s >= max) {
            clipped = true;
            break;
          }
        }
      if (clipped) continue;
      const r =
        4 * v(x, y) -
        2 * (v(x, y - 1) + v(x, y + 1) + v(x - 1, y) + v(x + 1, y)) +
        v(x - 1, y - 1) +
        v(x + 1, y - 1) +
        v(x - 1, y + 1) +
        v(x + 1, y + 1);
      res[n++] = Math.abs(r) * scale;
    }
  }
  if (n < MIN_POSITIONS) return 0;
  const s = res.subarray(0, n).sort();
  const median = n % 2 ? s[n >> 1]! : (s[(n >> 1) - 1]! + s[n >> 1]!) / 2;
  return median * SCALE;
}

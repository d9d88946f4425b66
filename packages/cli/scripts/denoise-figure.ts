// Denoising with the shipped model, as a picture: docs/denoise.jpg. One row per sample pair, a
// 256 px crop at native resolution; columns: A and B with Gaussian noise of sigma 25/255 (seeded),
// the composite of the noisy sources (strength 0), a Gaussian blur of both sources (sigma 1.2 px)
// then the composite, `fuse --denoise` (the strength the card gives the estimated noise), and the
// composite of the clean sources (what the others try to reach).
// Run: pnpm --filter @fccf/cli exec tsx scripts/denoise-figure.ts
import { join } from "node:path";
import { SeededNoise } from "@fccf/core";
import "@fccf/samplers";
import { fuseImages, type RasterImage } from "@fccf/tasks";
import sharp from "sharp";
import { defaultCardPath, loadEngine } from "../src/model-files.js";
import { readImage } from "../src/read-image.js";
import { FIGURE_PAIRS, REPO_ROOT } from "./sample-pairs.js";

const root = REPO_ROOT;
const pairs = FIGURE_PAIRS;
const SIZE = 224;
const SIGMA = 25;
const BLUR = 1.2;

function centreCrop(img: RasterImage): RasterImage {
  const w = Math.min(SIZE, img.width);
  const h = Math.min(SIZE, img.height);
  const x0 = (img.width - w) >> 1;
  const y0 = (img.height - h) >> 1;
  const c = img.channels;
  const data = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++)
    data.set(
      img.data.subarray(((y0 + y) * img.width + x0) * c, ((y0 + y) * img.width + x0 + w) * c),
      y * w * c,
    );
  return { ...img, width: w, height: h, data };
}

function noisy(img: RasterImage, seed: number): RasterImage {
  const n = new Float32Array(img.data.length);
  new SeededNoise(seed).fill(n);
  const data = Uint8Array.from(img.data, (v, i) => Math.min(255, Math.max(0, Math.round(v + SIGMA * n[i]!))));
  return { ...img, data };
}

// Separable Gaussian blur per channel, edges clamped (the blur + composite baseline of the gate).
function blurred(img: RasterImage): RasterImage {
  const { width: w, height: h, channels: c } = img;
  const r = Math.ceil(3 * BLUR);
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * BLUR * BLUR)));
  const sum = k.reduce((s, v) => s + v, 0);
  const pass = (src: Float64Array, dx: number, dy: number) => {
    const out = new Float64Array(src.length);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < c; ch++) {
          let acc = 0;
          for (let i = -r; i <= r; i++) {
            const xx = Math.min(w - 1, Math.max(0, x + i * dx));
            const yy = Math.min(h - 1, Math.max(0, y + i * dy));
            acc += k[i + r]! * src[(yy * w + xx) * c + ch]!;
          }
          out[(y * w + x) * c + ch] = acc / sum;
        }
    return out;
  };
  const out = pass(pass(Float64Array.from(img.data), 1, 0), 0, 1);
  return { ...img, data: Uint8Array.from(out, (v) => Math.min(255, Math.max(0, Math.round(v)))) };
}

const engine = await loadEngine(await defaultCardPath());
const tiles: { input: Buffer; top: number; left: number }[] = [];
let width = 0;
let top = 0;
for (const [i, [task, fa, fb]] of pairs.entries()) {
  const a = centreCrop(await readImage(join(root, "samples", fa)));
  const b = centreCrop(await readImage(join(root, "samples", fb)));
  const [na, nb] = [noisy(a, 2 * i + 1), noisy(b, 2 * i + 2)];
  const row = [
    na,
    nb,
    (await fuseImages(engine, na, nb, { task, strength: 0 })).image,
    (await fuseImages(engine, blurred(na), blurred(nb), { task, strength: 0 })).image,
    (await fuseImages(engine, na, nb, { task, denoise: true, seed: 1 })).image,
    (await fuseImages(engine, a, b, { task, strength: 0 })).image,
  ];
  let left = 0;
  for (const img of row) {
    const { width: w, height: h, channels } = img;
    const tile = await sharp(img.data, { raw: { width: w, height: h, channels } })
      .toColourspace("srgb")
      .png()
      .toBuffer();
    tiles.push({ input: tile, top, left });
    left += w;
  }
  width = Math.max(width, left);
  top += a.height;
}
await engine.dispose();
await sharp({ create: { width, height: top, channels: 3, background: "#000" } })
  .composite(tiles)
  .jpeg({ quality: 92 })
  .toFile(join(root, "docs/denoise.jpg"));
console.log(`wrote docs/denoise.jpg (${width}x${top}) with model ${engine.card.name}`);

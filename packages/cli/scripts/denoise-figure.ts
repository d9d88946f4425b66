// Denoising with the shipped model, as a picture: docs/denoise.jpg. One row per sample pair, a
// 256 px crop at native resolution; columns: A and B with Gaussian noise of sigma 25/255 (seeded),
// the composite of the noisy sources (strength 0), a Gaussian blur of both sources (sigma 1.2 px)
// then the composite, `fuse --denoise` (the card's denoise strength for the task), and the
// composite of the clean sources (what the others try to reach).
// Run: pnpm --filter @fccf/cli exec tsx scripts/denoise-figure.ts
import { join, resolve } from "node:path";
import { SeededNoise } from "@fccf/core";
import "@fccf/samplers";
import { fuseImages, type RasterImage } from "@fccf/tasks";
import sharp from "sharp";
import { defaultCardPath, loadEngine } from "../src/model-files.js";
import { readImage } from "../src/read-image.js";

const root = resolve(import.meta.dirname, "../../..");
const pairs = [
  ["VI-IR", "VI-IR/a-vi.png", "VI-IR/b-ir.png"],
  ["MED-PET", "MED-PET/a-MRI.png", "MED-PET/b-PET.png"],
  ["MEF", "MEF/a-under.png", "MEF/b-over.png"],
  ["MFF", "MFF/a-source_1.png", "MFF/b-source_2.png"],
] as const;
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

async function blurred(img: RasterImage): Promise<RasterImage> {
  const { width, height, channels } = img;
  const data = await sharp(img.data, { raw: { width, height, channels } }).blur(BLUR).raw().toBuffer();
  return { ...img, data: new Uint8Array(data) };
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
    (await fuseImages(engine, await blurred(na), await blurred(nb), { task, strength: 0 })).image,
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

// Fuses the four sample pairs with the shipped model and writes docs/samples.jpg: one row per
// pair (A, B, fused with the task's default strategy, and fused with the other strategy when the
// model was trained for both), each tile scaled to 256 px high. Run: pnpm --filter @fccf/cli exec tsx scripts/sample-figure.ts
import { join } from "node:path";
import "@fccf/samplers";
import { fuseImages } from "@fccf/tasks";
import sharp from "sharp";
import { defaultCardPath, loadEngine } from "../src/model-files.js";
import { readImage } from "../src/read-image.js";
import { FIGURE_PAIRS, REPO_ROOT } from "./sample-pairs.js";

const root = REPO_ROOT;
const pairs = FIGURE_PAIRS;
const H = 256;
const engine = await loadEngine(await defaultCardPath());
const rows: { input: Buffer; top: number; left: number }[] = [];
let width = 0;
for (const [i, [task, fa, fb]] of pairs.entries()) {
  const a = await readImage(join(root, "samples", fa));
  const b = await readImage(join(root, "samples", fb));
  const fused = await fuseImages(engine, a, b, { task });
  const other = fused.strategy === "max" ? "mean" : "max";
  const tiles = [a, b, fused.image];
  if (fused.task.strategies[other] !== undefined)
    tiles.push((await fuseImages(engine, a, b, { task, strategy: other })).image);
  let left = 0;
  for (const img of tiles) {
    const w = Math.round((img.width * H) / img.height);
    const tile = await sharp(img.data, {
      raw: { width: img.width, height: img.height, channels: img.channels },
    })
      .resize(w, H)
      .toColourspace("srgb")
      .png()
      .toBuffer();
    rows.push({ input: tile, top: i * H, left });
    left += w;
  }
  width = Math.max(width, left);
}
await engine.dispose();
await sharp({ create: { width, height: H * pairs.length, channels: 3, background: "#000" } })
  .composite(rows)
  .jpeg({ quality: 85 })
  .toFile(join(root, "docs/samples.jpg"));
console.log(`wrote docs/samples.jpg (${width}x${H * pairs.length}) with model ${engine.card.name}`);

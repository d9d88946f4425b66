// The same engine on onnxruntime-web (its WebAssembly backend also runs in Node): the browser
// path must give what the CLI gives.
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { FusionEngine, OrtBackend, tensor } from "@fccf/core";
import "@fccf/samplers";
import { fuseImages } from "@fccf/tasks";
import * as ortWeb from "onnxruntime-web";
import { describe, expect, it } from "vitest";
import { loadEngine, readCard } from "../src/model-files.js";
import { readImage } from "../src/read-image.js";
import { cardUnderTest } from "./model-under-test.js";

ortWeb.env.wasm.numThreads = 1;
const samples = resolve(import.meta.dirname, "../../../samples");

describe("OrtBackend over onnxruntime-web", () => {
  it("runs a graph", async () => {
    const model = await new OrtBackend(ortWeb).load(
      new Uint8Array(await readFile(join(import.meta.dirname, "fixtures/affine.onnx"))),
    );
    const out = await model.run({
      x: tensor(new Float32Array([1, 2, 3]), [3]),
      b: tensor(new Float32Array([0.5, -1, 0]), [3]),
    });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([2.5, 3, 6]);
  });

  it("fuses like onnxruntime-node (same engine, same seed)", async () => {
    const cardPath = await cardUnderTest();
    const card = await readCard(cardPath);
    const web = await FusionEngine.load(
      card,
      new OrtBackend(ortWeb),
      async (f) => new Uint8Array(await readFile(join(dirname(cardPath), f))),
    );
    const node = await loadEngine(cardPath, 1);
    const [a, b] = await Promise.all([
      readImage(join(samples, "MEF/a-under.png")),
      readImage(join(samples, "MEF/b-over.png")),
    ]);
    const opts = { task: "MEF", strength: Math.min(0.3, card.max_strength), steps: 3, seed: 4 };
    const [rw, rn] = [await fuseImages(web, a, b, opts), await fuseImages(node, a, b, opts)];
    let maxFloat = 0;
    for (let i = 0; i < rn.planes.fused.length; i++)
      maxFloat = Math.max(maxFloat, Math.abs(rn.planes.fused[i]! - rw.planes.fused[i]!));
    expect(maxFloat).toBeLessThan(1e-4);
    let maxByte = 0;
    for (let i = 0; i < rn.image.data.length; i++)
      maxByte = Math.max(maxByte, Math.abs(rn.image.data[i]! - rw.image.data[i]!));
    expect(maxByte).toBeLessThanOrEqual(1);
    await web.dispose();
    await node.dispose();
  });
});

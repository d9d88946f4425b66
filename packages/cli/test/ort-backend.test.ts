import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { OrtBackend, tensor } from "@fccf/core";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";

const modelPath = fileURLToPath(new URL("./fixtures/affine.onnx", import.meta.url));

describe("OrtBackend over onnxruntime-node", () => {
  it("runs an ONNX graph on named tensors, from a path or from bytes", async () => {
    const backend = new OrtBackend(ort, { intraOpNumThreads: 1 });
    for (const source of [modelPath, new Uint8Array(await readFile(modelPath))]) {
      const model = await backend.load(source);
      expect([...model.inputNames].sort()).toEqual(["b", "x"]);
      expect(model.outputNames).toEqual(["y"]);
      const out = await model.run({
        x: tensor(new Float32Array([1, 2, 3]), [3]),
        b: tensor(new Float32Array([0.5, -1, 0]), [3]),
      });
      expect(out.y!.dims).toEqual([3]);
      expect(Array.from(out.y!.data as Float32Array)).toEqual([2.5, 3, 6]);
      await model.dispose();
    }
  });
});

// The TypeScript engine against the Python inference reference (training/fccf_train/infer.py):
// every case in models/parity is replayed with its recorded noise through onnxruntime-node.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RecordedNoise } from "@fccf/core";
import "@fccf/samplers";
import { crop, estimateNoise, fuseImages } from "@fccf/tasks";
import { describe, expect, it } from "vitest";
import { loadEngine } from "../src/model-files.js";
import { readImage } from "../src/read-image.js";
import { modelsDir } from "./model-under-test.js";

const dir = modelsDir;
const index = JSON.parse(readFileSync(join(dir, "parity", "index.json"), "utf8")) as {
  model: string;
  cases: string[];
};

interface Case {
  task: string;
  /** Absent in fixtures written before models could switch strategy: the task's default. */
  strategy?: "max" | "mean";
  /** The classical pre-registration the case was made with (absent or null: none, whatever the card's default). */
  register?: "ngf" | "auto" | null;
  /** True: the strength came from the card's denoise rule and the sources' noise estimate. */
  denoise?: boolean;
  /** Python's noise estimates of the inputs (absent in fixtures written before the estimate). */
  noise_estimate?: { a: number; b: number };
  width: number;
  height: number;
  padded: { width: number; height: number };
  strength: number;
  steps: number;
  sampler: { name: string };
  timesteps: number[];
  stages: number[];
  noise: number[][] | null;
  fused_planes: number[][];
  composite_planes: number[][];
  mask: number[];
  tolerance: { float: number; png: number };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe(`parity with the Python reference (${index.model})`, () => {
  it("has cases for several tasks", () => {
    expect(existsSync(join(dir, `${index.model}.json`))).toBe(true);
    expect(index.cases.length).toBeGreaterThanOrEqual(4);
  });
  for (const name of index.cases) {
    it(name, async () => {
      const caseDir = join(dir, "parity", name);
      const c = JSON.parse(readFileSync(join(caseDir, "case.json"), "utf8")) as Case;
      const engine = await loadEngine(join(dir, `${index.model}.json`), 1);
      try {
        const [a, b, expected] = await Promise.all(
          ["a.png", "b.png", "out.png"].map((f) => readImage(join(caseDir, f))),
        );
        const r = await fuseImages(engine, a!, b!, {
          task: c.task,
          strategy: c.strategy,
          register: c.register ?? "none",
          ...(c.denoise ? { denoise: true } : { strength: c.strength }),
          steps: c.steps,
          sampler: c.sampler.name,
          noise: c.noise ? new RecordedNoise([c.noise.flat()]) : undefined,
        });
        if (c.noise_estimate) {
          expect(estimateNoise(a!)).toBeCloseTo(c.noise_estimate.a, 9);
          expect(estimateNoise(b!)).toBeCloseTo(c.noise_estimate.b, 9);
        }
        expect(r.strength).toBe(c.strength);
        expect(r.planes.timesteps).toEqual(c.timesteps);
        expect(r.planes.stagesUsed).toEqual(c.stages);
        const { width: w, height: h } = c;
        const { width: pw, height: ph } = c.padded;
        c.fused_planes.forEach((ref, i) => {
          const mine = crop(r.planes.fused.subarray(i * pw * ph, (i + 1) * pw * ph), pw, w, h);
          expect(maxDiff(mine, ref)).toBeLessThanOrEqual(c.tolerance.float);
        });
        c.composite_planes.forEach((ref, i) => {
          const mine = crop(r.planes.composite.subarray(i * pw * ph, (i + 1) * pw * ph), pw, w, h);
          expect(maxDiff(mine, ref)).toBeLessThanOrEqual(c.tolerance.float);
        });
        expect(maxDiff(r.mask, c.mask)).toBeLessThanOrEqual(c.tolerance.float);
        expect(r.image.channels).toBe(expected!.channels);
        expect(maxDiff(r.image.data, expected!.data)).toBeLessThanOrEqual(c.tolerance.png);
      } finally {
        await engine.dispose();
      }
    });
  }
});

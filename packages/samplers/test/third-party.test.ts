// A sampler published outside fccf: the fixture package depends on @fccf/core only and registers
// its plugin on import; it then works through the same API as the built-ins.
import { readFileSync } from "node:fs";
import { createSampler, NoiseSchedule, runSampling, SeededNoise, samplers } from "@fccf/core";
import { ralston } from "fccf-sampler-example";
import { describe, expect, it } from "vitest";
import { exactPfOde, fixtureMean, GaussianModel } from "../src/index.js";

describe("third-party sampler package", () => {
  it("depends on @fccf/core only and registers itself by name and alias", () => {
    const pkg = JSON.parse(
      readFileSync(new URL("./fixtures/third-party-sampler/package.json", import.meta.url), "utf8"),
    ) as { dependencies: Record<string, string>; devDependencies?: Record<string, string> };
    expect(pkg.dependencies).toEqual({ "@fccf/core": "workspace:*" });
    expect(pkg.devDependencies).toBeUndefined();
    expect(samplers.get("ralston")).toBe(ralston);
    expect(samplers.get("RK2-Ralston")).toBe(ralston);
    expect(samplers.list()).toContain(ralston);
  });

  it("validates its options like a built-in and samples the analytic model", () => {
    const schedule = NoiseSchedule.fromConfig({
      betaSchedule: "scaled_linear",
      betaStart: 0.00085,
      betaEnd: 0.012,
    });
    expect(() => createSampler("ralston", schedule, { solverOrder: 2 })).toThrow(
      /unknown option 'solverOrder' for sampler 'ralston'/,
    );
    const run = createSampler("ralston", schedule, { predictionType: "v_prediction" }).plan(20);
    expect(run.modelCalls).toBe(39);
    expect(run.timesteps.some((t) => !Number.isInteger(t))).toBe(true); // fractional second stages
    const mu = fixtureMean(24);
    const x = new Float64Array(24);
    new SeededNoise(2).fill(x);
    for (let i = 0; i < 24; i++) x[i] = x[i]! * run.initNoiseSigma;
    const start = x.slice();
    const model = new GaussianModel(schedule.sigmas, mu, 0.5, "v_prediction");
    while (run.stepIndex < run.timesteps.length - 1)
      run.step(model.evaluate(run.scaleModelInput(x), run.timestep), x);
    const exact = exactPfOde(start, mu, 0.5, run.levels[0]!, run.levels[run.stepIndex]!, "VE");
    expect(Math.max(...exact.map((e, i) => Math.abs(e - x[i]!)))).toBeLessThan(5e-3);
  });

  it("runs in runSampling, whose fused step falls back to step + scaleModelInput for it", async () => {
    const schedule = NoiseSchedule.fromConfig();
    const model = new GaussianModel(schedule.sigmas, fixtureMean(24), 0.5, "epsilon");
    const start = new Float64Array(24);
    new SeededNoise(3).fill(start);
    const manual = start.slice();
    const run = createSampler("ralston", schedule).plan(6);
    while (!run.done) run.step(model.evaluate(run.scaleModelInput(manual), run.timestep), manual);
    const looped = start.slice();
    await runSampling(createSampler("ralston", schedule).plan(6), model, looped, [24]);
    expect(Array.from(looped)).toEqual(Array.from(manual));
    expect(looped.some((v, i) => v !== start[i])).toBe(true);
  });
});

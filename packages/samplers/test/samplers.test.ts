import type { FloatArray, PredictionType } from "@fccf/core";
import {
  createSampler,
  NoiseSchedule,
  predictionFrom,
  RecordedNoise,
  runSampling,
  SeededNoise,
  samplers,
} from "@fccf/core";
import { describe, expect, it } from "vitest";
import { karrasLevels } from "../src/common.js";
import { builtinSamplers, exactPfOde, fixtureMean, GaussianModel } from "../src/index.js";
import { lmsCoefficient } from "../src/lms.js";

const slin = NoiseSchedule.fromConfig({ betaSchedule: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012 });
const mu = fixtureMean(24);

function xT(seed = 3): Float64Array {
  const x = new Float64Array(24);
  new SeededNoise(seed).fill(x);
  return x;
}

/** Runs a whole plan on the Gaussian model from x (in place). */
function sample(name: string, config: Record<string, unknown>, steps: number, x: FloatArray, seed = 11) {
  const sampler = createSampler(name, slin, config);
  const run = sampler.plan(steps);
  const model = new GaussianModel(slin.sigmas, mu, 0.5, sampler.prediction);
  const noise = new SeededNoise(seed);
  while (!run.done) {
    const out = model.evaluate(run.scaleModelInput(x), run.timestep, new Float64Array(x.length));
    run.step(out, x, noise);
  }
  return { run, sampler };
}

describe("registry", () => {
  it("registers every built-in under its name and the LFDT-Fusion aliases (case-insensitive)", () => {
    for (const p of builtinSamplers) expect(samplers.get(p.name)).toBe(p);
    const lfdt: Record<string, string> = {
      DDIM: "ddim",
      "ddp-solver": "dpm-solver",
      "ddp-solver++": "dpm-solver++",
      Deis: "deis",
      Unipc: "unipc",
      Heun: "heun",
      Euler: "euler",
      LMS: "lms",
      PNDM: "pndm",
    };
    for (const [alias, name] of Object.entries(lfdt)) {
      expect(samplers.get(alias).name).toBe(name);
      expect(samplers.get(alias.toUpperCase()).name).toBe(name);
    }
  });

  it("names the known samplers when a name is unknown", () => {
    expect(() => samplers.get("dpm-solver-9000")).toThrow(
      /unknown sampler 'dpm-solver-9000' \(known: ddim, ddpm, /,
    );
  });

  it("refuses a second plugin under a taken alias", () => {
    expect(() => samplers.register({ ...builtinSamplers[0]!, name: "my-ddim", aliases: ["Euler"] })).toThrow(
      /sampler name 'Euler' is already registered by 'euler'/,
    );
  });
});

describe("options", () => {
  it("fills defaults (diffusers' defaults)", () => {
    const s = createSampler("dpm-solver++", slin);
    expect(s.config).toMatchObject({
      solverOrder: 2,
      algorithmType: "dpmsolver++",
      solverType: "midpoint",
      finalSigmasType: "zero",
    });
    expect(s.order).toBe(2);
    expect(s.stochastic).toBe(false);
    expect(createSampler("ddim", slin, { eta: 0.5 }).stochastic).toBe(true);
  });

  it("rejects unknown options and invalid values with the sampler, option and accepted values", () => {
    expect(() => createSampler("ddim", slin, { etaa: 1 })).toThrow(
      /unknown option 'etaa' for sampler 'ddim' \(known options: predictionType, eta,/,
    );
    expect(() => createSampler("unipc", slin, { solverOrder: 4 })).toThrow(
      "option 'solverOrder' of sampler 'unipc' must be an integer >= 1 <= 3, got 4",
    );
    expect(() => createSampler("euler", slin, { timestepSpacing: "cubic" })).toThrow(
      /must be one of linspace\|leading\|trailing/,
    );
    expect(() => createSampler("dpm-solver", slin, { finalSigmasType: "zero" })).toThrow(
      /needs finalSigmasType 'sigma_min'/,
    );
    expect(() =>
      createSampler("dpm-solver", slin, { algorithmType: "sde-dpmsolver", solverOrder: 3 }),
    ).toThrow(/supports solverOrder 1 or 2/);
    expect(createSampler("sde-dpm-solver++", slin, { solverOrder: 3 }).order).toBe(3);
  });

  it("rejects step counts the schedule cannot hold", () => {
    expect(() => createSampler("ddim", slin).plan(0)).toThrow(/positive integer/);
    expect(() => createSampler("ddim", slin).plan(1001)).toThrow(/exceed the 1000 training timesteps/);
  });
});

describe("Denoiser contract", () => {
  const preds: PredictionType[] = ["epsilon", "sample", "v_prediction"];
  // KDPM2 is left out: it calls the model at the timestep whose interpolated sigma is only close to
  // its midpoint level (log-sigma vs linear interpolation), so parameterisations differ by ~1e-5.
  it.each(["ddim", "dpm-solver++", "dpm-solver-singlestep", "deis", "unipc", "euler", "heun", "lms", "pndm"])(
    "%s gives the same trajectory for eps, x0 and v models",
    (name) => {
      const finals = preds.map((p) => {
        const x = xT().map(
          (v) => v * createSampler(name, slin, { predictionType: p }).plan(10).initNoiseSigma,
        );
        sample(name, { predictionType: p, ...(name === "ddim" ? { clipSample: false } : {}) }, 10, x);
        return x;
      });
      for (const f of finals.slice(1))
        for (let i = 0; i < 24; i++) expect(f[i]).toBeCloseTo(finals[0]![i]!, 10);
    },
  );

  it("predictionFrom round-trips through every parameterisation", () => {
    const x0 = Float64Array.from([0.3, -0.7]);
    const eps = Float64Array.from([1.1, 0.2]);
    const [a, s] = [0.6, 0.8];
    const v = predictionFrom("v_prediction", x0, eps, a, s, new Float64Array(2));
    expect(v[0]).toBeCloseTo(a * 1.1 - s * 0.3, 15);
  });

  it("runSampling refuses a model whose parameterisation differs from the sampler's", async () => {
    const run = createSampler("euler", slin).plan(4);
    const model = new GaussianModel(slin.sigmas, mu, 0.5, "sample");
    await expect(runSampling(run, model, new Float64Array(24), [24])).rejects.toThrow(
      /predicts 'sample' but sampler 'euler' is configured for 'epsilon'/,
    );
  });
});

describe("starting mid-plan (strength / startAt) and addNoise", () => {
  it("strength maps to t_start = round(s (T-1)) and starts at the first timestep at or below it", () => {
    const run = createSampler("dpm-solver++", slin).plan(10, { strength: 0.5 });
    expect(run.timesteps.slice(0, 5)).toEqual([999, 899, 799, 699, 599]);
    expect(run.begin).toBe(5); // t_start = round(0.5 * 999) = 500, which is on this grid
    expect(run.timestep).toBe(500);
    expect(run.modelCalls).toBe(5);
    expect(() => createSampler("ddim", slin).plan(10, { strength: 1.5 })).toThrow(
      /strength must be in \(0, 1\]/,
    );
    expect(() =>
      createSampler("euler", slin, { timestepSpacing: "trailing" }).plan(4, { startAt: 10 }),
    ).toThrow(/below the lowest timestep a run can start from/);
    expect(() => createSampler("pndm", slin).plan(10, { strength: 0.5 })).toThrow(
      /runs only from the top of its plan/,
    );
  });

  it("two-call samplers start on a whole step", () => {
    const run = createSampler("heun", slin).plan(10, { startAt: 600 });
    expect(run.begin % 2).toBe(0);
    expect(run.timestep).toBeLessThanOrEqual(600);
    // Entries are [t0, t1, t1, t2, t2, ...]: predictors at even indices, correctors at odd ones.
    expect(run.timesteps[run.begin - 2]).toBeGreaterThan(600);
  });

  it("addNoise gives the marginal of the start level (VP and VE)", () => {
    const x0 = Float64Array.from([0.5, -0.25]);
    const eps = Float64Array.from([1, 2]);
    const vp = createSampler("ddim", slin).plan(10, { startAt: 400 });
    const t = vp.timestep;
    const a = slin.alphasCumprod[t]!;
    const outVp = vp.addNoise(x0, eps, new Float64Array(2));
    expect(outVp[1]).toBeCloseTo(Math.sqrt(a) * -0.25 + Math.sqrt(1 - a) * 2, 14);
    const ve = createSampler("euler", slin).plan(10, { startAt: 400 });
    const outVe = ve.addNoise(x0, eps, new Float64Array(2));
    expect(outVe[0]).toBeCloseTo(0.5 + slin.sigmaAt(ve.timestep) * 1, 14);
  });

  it.each(["ddim", "euler", "heun", "kdpm2", "dpm-solver-singlestep"])(
    "%s: a truncated run continues the full run exactly from its state",
    (name) => {
      const sampler = createSampler(name, slin, name === "ddim" ? { clipSample: false } : {});
      const full = sampler.plan(12);
      const part = sampler.plan(12, { strength: 0.55 });
      const model = new GaussianModel(slin.sigmas, mu, 0.5, "epsilon");
      const x = xT().map((v) => v * full.initNoiseSigma);
      let y: Float64Array | undefined;
      while (!full.done) {
        if (full.stepIndex === part.begin) y = x.slice();
        full.step(model.evaluate(full.scaleModelInput(x), full.timestep), x);
      }
      expect(part.begin).toBeGreaterThan(0);
      while (!part.done) part.step(model.evaluate(part.scaleModelInput(y!), part.timestep), y!);
      if (name === "dpm-solver-singlestep") {
        // It restarts its group structure at the first step, so it only agrees closely.
        for (let i = 0; i < 24; i++) expect(Math.abs(y![i]! - x[i]!)).toBeLessThan(0.05);
      } else expect(Array.from(y!)).toEqual(Array.from(x));
    },
  );
});

describe("state types, noise and determinism", () => {
  it.each(builtinSamplers.map((p) => p.name))("%s runs on Float32Array states close to float64", (name) => {
    const x64 = xT().map((v) => v * createSampler(name, slin).plan(12).initNoiseSigma);
    const x32 = Float32Array.from(x64);
    sample(name, {}, 12, x64, 4);
    sample(name, {}, 12, x32, 4);
    for (let i = 0; i < 24; i++)
      expect(Math.abs(x32[i]! - x64[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(x64[i]!)));
  });

  it("runs on Float32Array states close to the float64 result", () => {
    const x64 = xT();
    sample("dpm-solver++", {}, 20, x64);
    const x32 = Float32Array.from(xT());
    sample("dpm-solver++", {}, 20, x32);
    for (let i = 0; i < 24; i++) expect(Math.abs(x32[i]! - x64[i]!)).toBeLessThan(1e-5);
  });

  it("stochastic samplers need a noise source and are reproducible per seed", () => {
    const run = createSampler("euler-ancestral", slin).plan(5);
    expect(() => run.step(new Float64Array(24), new Float64Array(24))).toThrow(
      /stochastic: pass a NoiseSource/,
    );
    const a = xT().map((v) => v * 14.6);
    const b = a.slice();
    const c = a.slice();
    sample("euler-ancestral", {}, 8, a, 5);
    sample("euler-ancestral", {}, 8, b, 5);
    sample("euler-ancestral", {}, 8, c, 6);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });

  it("DDPM consumes one draw per step except at t = 0", () => {
    const run = createSampler("ddpm", slin, { clipSample: false }).plan(4);
    const draws = [0, 1, 2].map(() => new Array(24).fill(0.1));
    const noise = new RecordedNoise(draws);
    const x = xT();
    const model = new GaussianModel(slin.sigmas, mu, 0.5, "epsilon");
    while (!run.done) run.step(model.evaluate(x, run.timestep), x, noise);
    expect(run.timesteps.at(-1)).toBe(0);
    expect(noise.consumed).toBe(3);
  });

  it("refuses a state that changes size mid-run", () => {
    const run = createSampler("euler", slin).plan(3);
    run.step(new Float64Array(4), new Float64Array(4));
    expect(() => run.step(new Float64Array(5), new Float64Array(5))).toThrow(/changed size or type/);
  });
});

describe("LMS and PNDM update formulas on derivable cases", () => {
  it("LMS coefficients: order 1 is Euler, order 2 integrates the linear interpolant", () => {
    const levels = [4, 2, 1, 0.5];
    expect(lmsCoefficient(levels, 1, 1, 0)).toBeCloseTo(1 - 2, 14);
    // Basis of the current node on nodes (2, 4): (tau - 4)/(2 - 4); integral over [2, 1].
    const exactCurrent = ((1 - 4) ** 2 - (2 - 4) ** 2) / (2 * (2 - 4));
    expect(lmsCoefficient(levels, 2, 1, 0)).toBeCloseTo(exactCurrent, 14);
    // The coefficients of any order sum to the step (they integrate the constant 1).
    const sum = [0, 1, 2].map((j) => lmsCoefficient(levels, 3, 2, j)).reduce((p, q) => p + q);
    expect(sum).toBeCloseTo(0.5 - 1, 14);
  });

  it("LMS is exact for a model with a constant denoiser (dx/ds = (x - c)/s)", () => {
    const sampler = createSampler("lms", slin, { predictionType: "sample" });
    const run = sampler.plan(12);
    const c = 0.3;
    const x = xT().map((v) => v * run.initNoiseSigma);
    const x0 = x.slice();
    while (run.stepIndex < run.timesteps.length - 1) run.step(new Float64Array(24).fill(c), x);
    const ratio = run.levels[run.stepIndex]! / run.levels[0]!;
    for (let i = 0; i < 24; i++) expect(x[i]).toBeCloseTo(c + (x0[i]! - c) * ratio, 9);
  });

  it("PNDM with a constant noise prediction follows the exact DDIM path to the final level", () => {
    for (const skipPrkSteps of [false, true]) {
      const run = createSampler("pndm", slin, { skipPrkSteps }).plan(10);
      const eps = 0.7;
      const x = xT();
      const xStart = x.slice();
      while (!run.done) run.step(new Float64Array(24).fill(eps), x);
      const aT = slin.alphasCumprod[run.timesteps[0]!]!;
      const aEnd = slin.alphasCumprod[0]!; // setAlphaToOne false: the last step goes to abar[0]
      for (let i = 0; i < 24; i++) {
        const x0 = (xStart[i]! - Math.sqrt(1 - aT) * eps) / Math.sqrt(aT);
        expect(x[i]).toBeCloseTo(Math.sqrt(aEnd) * x0 + Math.sqrt(1 - aEnd) * eps, 10);
      }
      expect(run.modelCalls).toBe(skipPrkSteps ? 11 : 19);
    }
  });

  it("LMS and PNDM land near the exact PF-ODE solution on the Gaussian model", () => {
    for (const name of ["lms", "pndm"]) {
      const sampler = createSampler(name, slin, name === "pndm" ? { timestepSpacing: "trailing" } : {});
      const run = sampler.plan(50);
      const x = xT().map((v) => v * run.initNoiseSigma);
      const start = x.slice();
      const model = new GaussianModel(slin.sigmas, mu, 0.5, "epsilon");
      while (run.stepIndex < run.timesteps.length - 1)
        run.step(model.evaluate(run.scaleModelInput(x), run.timestep), x);
      const exact = exactPfOde(start, mu, 0.5, run.levels[0]!, run.levels[run.stepIndex]!, sampler.space);
      expect(Math.max(...exact.map((e, i) => Math.abs(e - x[i]!)))).toBeLessThan(5e-3);
    }
  });
});

describe("step options beyond the reference cases", () => {
  it("Euler churn raises the level to s (1 + gamma) with noise, then steps from there", () => {
    const sampler = createSampler("euler", slin, { sChurn: 5, sNoise: 0, predictionType: "sample" });
    expect(sampler.stochastic).toBe(true);
    const run = sampler.plan(10);
    const x = xT().map((v) => v * 14);
    const x0 = x.slice();
    const s = run.levels[0]!;
    const next = run.levels[1]!;
    run.step(new Float64Array(24).fill(0.25), x, new SeededNoise(1));
    const sHat = s * (1 + Math.min(5 / 10, Math.SQRT2 - 1));
    // With zero churn noise and a constant denoiser c, one Euler step from sHat: c + (x - c) next / sHat.
    for (let i = 0; i < 24; i++) expect(x[i]).toBeCloseTo(0.25 + (x0[i]! - 0.25) * (next / sHat), 12);
  });

  it("DDIM useClippedModelOutput recomputes eps from the clipped x0", () => {
    const run = createSampler("ddim", slin, { predictionType: "sample", useClippedModelOutput: true }).plan(
      10,
    );
    const t = run.timestep;
    const prevT = t - 100;
    const x = Float64Array.from([0.5, -0.5]);
    run.step(Float64Array.from([2, -0.3]), x);
    const [a, ap] = [slin.alphasCumprod[t]!, slin.alphasCumprod[prevT]!];
    const expected = [1, -0.3].map((x0, i) => {
      const eps = ([0.5, -0.5][i]! - Math.sqrt(a) * x0) / Math.sqrt(1 - a);
      return Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * eps;
    });
    expect(x[0]).toBeCloseTo(expected[0]!, 12);
    expect(x[1]).toBeCloseTo(expected[1]!, 12);
  });
});

describe("Karras noise levels (useKarrasSigmas)", () => {
  it("space the levels uniformly in sigma^(1/7) between the schedule's extremes", () => {
    const levels = karrasLevels(0.1, 10, 5);
    expect(levels[0]).toBeCloseTo(10, 12);
    expect(levels[4]).toBeCloseTo(0.1, 12);
    const roots = levels.map((s) => s ** (1 / 7));
    for (let i = 1; i < 4; i++) expect(roots[i + 1]! - roots[i]!).toBeCloseTo(roots[1]! - roots[0]!, 12);
  });

  it("VP solvers step between Karras levels and call the model at the rounded timesteps", () => {
    const run = createSampler("dpm-solver++", slin, {
      useKarrasSigmas: true,
      finalSigmasType: "sigma_min",
    }).plan(8);
    expect(run.levels[0]).toBeCloseTo(slin.sigmas[999]!, 10);
    expect(run.levels[7]).toBeCloseTo(slin.sigmas[0]!, 10);
    run.levels.slice(0, 8).forEach((s, i) => {
      expect(run.timesteps[i]).toBe(Math.round(slin.timestepOfSigma(s)));
    });
  });

  it("VE samplers call the model at the fractional timesteps of the levels, and converge", () => {
    const run = createSampler("euler", slin, { useKarrasSigmas: true }).plan(6);
    run.timesteps.forEach((t, i) => {
      expect(slin.sigmaAt(t)).toBeCloseTo(run.levels[i]!, 2);
    });
    const errs = [10, 20, 40].map((n) => {
      const r = createSampler("heun", slin, { useKarrasSigmas: true }).plan(n);
      const x = xT().map((v) => v * r.initNoiseSigma);
      const start = x.slice();
      const model = new GaussianModel(slin.sigmas, mu, 0.5, "epsilon");
      while (r.stepIndex < r.timesteps.length - 1)
        r.step(model.evaluate(r.scaleModelInput(x), r.timestep), x);
      const exact = exactPfOde(start, mu, 0.5, r.levels[0]!, r.levels[r.stepIndex]!, "VE");
      return Math.max(...exact.map((e, i) => Math.abs(e - x[i]!)));
    });
    expect(errs[1]).toBeLessThan(errs[0]! / 3.5);
    expect(errs[2]).toBeLessThan(errs[1]! / 3.5);
  });
});

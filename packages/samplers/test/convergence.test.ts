// Convergence of the deterministic solvers on the analytic Gaussian model, against the exact PF-ODE
// solution. The error is taken at a fixed noise level (t = 500, on every grid used here) rather than
// at the penultimate level of each run: near t = 0 sigma(t) ~ sqrt(t + 1), so the last steps have a
// log-SNR size that does not shrink with the step count and the penultimate error (the README's
// table) mixes the solver's order with that fixed-size tail. At a fixed mid level the steps shrink
// like 1/n and the global error decays like n^-p.
import { createSampler, NoiseSchedule, SeededNoise, samplers } from "@fccf/core";
import { describe, expect, it } from "vitest";
import { exactPfOde, fixtureMean, GaussianModel } from "../src/index.js";
import "fccf-sampler-example";

const schedule = NoiseSchedule.fromConfig({
  betaSchedule: "scaled_linear",
  betaStart: 0.00085,
  betaEnd: 0.012,
});
const mu = fixtureMean(24);
const xT = new Float64Array(24);
new SeededNoise(7).fill(xT);

/** Max error at the state entering the first model call at `target`, for each step count. */
function errors(name: string, config: Record<string, unknown>, counts: number[], target: number): number[] {
  return counts.map((n) => {
    const sampler = createSampler(name, schedule, config);
    const run = sampler.plan(n);
    const model = new GaussianModel(schedule.sigmas, mu, 0.5, sampler.prediction);
    const x0 = Float64Array.from(xT, (v) => v * run.initNoiseSigma);
    const x = x0.slice();
    const stop = run.timesteps.indexOf(target);
    if (stop < 0) throw new Error(`${name}: t = ${target} is not on the ${n}-step grid`);
    while (run.stepIndex < stop) run.step(model.evaluate(run.scaleModelInput(x), run.timestep), x);
    const exact = exactPfOde(x0, mu, 0.5, run.levels[0]!, run.levels[stop]!, sampler.space);
    return Math.max(...exact.map((e, i) => Math.abs(e - x[i]!)));
  });
}

/** Least-squares slope of -log(error) against log(n). */
function observedOrder(counts: number[], errs: number[]): number {
  const xs = counts.map(Math.log);
  const ys = errs.map((e) => -Math.log(e));
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return num / den;
}

// Grids on which t = 500 (VP solvers: linspace over n+1 points; DDIM/PNDM: leading) or t = 499.5
// (Karras-style float grids, linspace over n points) is a step boundary.
const VP = [12, 24, 48, 96];
const LEADING = [10, 20, 40, 50];
const KARRAS = [13, 25, 49, 97];

// Expected global order on this grid. Multistep methods of order 3 that start with a first-order step
// keep its O(h^2) contribution, so they converge at order ~2 here; UniPC's corrector adds one order.
const cases: [string, Record<string, unknown>, number[], number, number][] = [
  ["ddim", { eta: 0, clipSample: false }, LEADING, 500, 1],
  ["dpm-solver++", { solverOrder: 1 }, VP, 500, 1],
  ["dpm-solver++", { solverOrder: 2 }, VP, 500, 2],
  ["dpm-solver++", { solverOrder: 2, solverType: "heun" }, VP, 500, 2],
  ["dpm-solver++", { solverOrder: 3 }, VP, 500, 2],
  ["dpm-solver", { solverOrder: 2 }, VP, 500, 2],
  ["dpm-solver", { solverOrder: 3, solverType: "heun" }, VP, 500, 2],
  ["dpm-solver-singlestep", { solverOrder: 2 }, VP, 500, 2],
  ["dpm-solver-singlestep", { solverOrder: 3 }, VP, 500, 3],
  [
    "dpm-solver-singlestep",
    { solverOrder: 2, algorithmType: "dpmsolver", finalSigmasType: "sigma_min" },
    VP,
    500,
    2,
  ],
  ["deis", { solverOrder: 1 }, VP, 500, 1],
  ["deis", { solverOrder: 2 }, VP, 500, 2],
  ["deis", { solverOrder: 3 }, VP, 500, 2],
  ["unipc", { solverOrder: 1, solverType: "bh1" }, VP, 500, 2],
  ["unipc", { solverOrder: 2, solverType: "bh1" }, VP, 500, 3],
  ["unipc", { solverOrder: 2 }, VP, 500, 3],
  ["unipc", { solverOrder: 3 }, VP, 500, 3],
  ["euler", {}, KARRAS, 499.5, 1],
  ["heun", {}, KARRAS, 499.5, 2],
  ["kdpm2", {}, KARRAS, 499.5, 2],
  ["lms", {}, KARRAS, 499.5, 3],
  ["pndm", {}, LEADING, 500, 2],
  ["ralston", {}, KARRAS, 499.5, 2],
];

describe("convergence on the analytic model", () => {
  it.each(cases)("%s %j converges at its order", (name, config, counts, target, order) => {
    const errs = errors(name, config, counts, target);
    for (let i = 1; i < errs.length; i++) expect(errs[i]).toBeLessThan(errs[i - 1]!);
    const p = observedOrder(counts, errs);
    expect(p).toBeGreaterThan(order - 0.35);
    expect(p).toBeLessThan(order + 2);
  });

  it("higher orders are more accurate than first order at equal model calls", () => {
    const euler = errors("euler", {}, [49], 499.5)[0]!;
    const heun = errors("heun", {}, [25], 499.5)[0]!; // 2 calls per step
    const dpm2 = errors("dpm-solver++", { solverOrder: 2 }, [48], 500)[0]!;
    expect(heun).toBeLessThan(euler / 5);
    expect(dpm2).toBeLessThan(euler / 10);
  });

  it("covers every registered deterministic sampler", () => {
    const tested = new Set(cases.map((c) => c[0]));
    const deterministic = samplers
      .list()
      .filter(
        (p) =>
          !p.stochastic({ ...Object.fromEntries(Object.entries(p.options).map(([k, o]) => [k, o.default])) }),
      );
    for (const p of deterministic) expect(tested, p.name).toContain(p.name);
  });
});

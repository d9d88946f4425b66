// Heun's method (Karras et al. 2022, Algorithm 1), diffusers `HeunDiscreteScheduler` semantics: each
// step is an Euler predictor to the next level followed by a trapezoidal corrector, two model calls
// per step; the last step (to sigma = 0) is a plain Euler step.
import type { ConfigOf, FloatArray, NoiseSchedule, PlanData, SamplerPlugin } from "@fccf/core";
import { clampInPlace, option, vePredictionToX0 } from "@fccf/core";
import {
  Buffers,
  predictionOption,
  spacingOption,
  stepsOffsetOption,
  unsupportedSigmaOptions,
} from "./common.js";
import { scaleVeInput, veBase } from "./ve-plan.js";

const options = {
  predictionType: predictionOption(),
  timestepSpacing: spacingOption("linspace"),
  stepsOffset: stepsOffsetOption(),
  clipSample: option.bool(false, "clip the x0 estimate to [-clipSampleRange, clipSampleRange]"),
  clipSampleRange: option.number(1, "clip range of the x0 estimate", { min: 0 }),
  ...unsupportedSigmaOptions,
};
type Config = ConfigOf<typeof options>;

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const base = veBase("heun", schedule, c.timestepSpacing, steps, c.stepsOffset);
  const ts = base.timesteps;
  const s = base.sigmas;
  // Entries: t0, then (t_k, t_k) for the predictor and corrector calls of each following level.
  const timesteps = [ts[0]!, ...ts.slice(1).flatMap((t) => [t, t])];
  const levels = [s[0]!, ...s.slice(1, -1).flatMap((v) => [v, v]), s.at(-1)!];
  const startIndices = timesteps.map((_, i) => i).filter((i) => i % 2 === 0);
  return { timesteps, levels, initNoiseSigma: base.initNoiseSigma, startIndices };
}

function start(_schedule: NoiseSchedule, c: Config, p: PlanData, begin: number) {
  const buf = new Buffers();
  let dt = 0;
  return {
    scaleModelInput: (x: FloatArray, i: number, out: FloatArray) => scaleVeInput(x, p.levels[i]!, out),
    step(out: FloatArray, x: FloatArray, i: number) {
      const first = (i - begin) % 2 === 0;
      const d1 = buf.get(1, x);
      const saved = buf.get(2, x);
      if (first) {
        const sigma = p.levels[i]!;
        const next = p.levels[i + 1]!;
        const x0 = vePredictionToX0(c.predictionType, out, x, sigma, buf.get(0, x));
        if (c.clipSample) clampInPlace(x0, -c.clipSampleRange, c.clipSampleRange);
        dt = next - sigma;
        for (let j = 0; j < x.length; j++) {
          d1[j] = (x[j]! - x0[j]!) / sigma;
          saved[j] = x[j]!;
          x[j] = x[j]! + d1[j]! * dt;
        }
      } else {
        const next = p.levels[i]!;
        const x0 = vePredictionToX0(c.predictionType, out, x, next, buf.get(0, x));
        if (c.clipSample) clampInPlace(x0, -c.clipSampleRange, c.clipSampleRange);
        for (let j = 0; j < x.length; j++) {
          const d = (d1[j]! + (x[j]! - x0[j]!) / next) / 2;
          x[j] = saved[j]! + d * dt;
        }
      }
    },
  };
}

/** Heun (second order, two model calls per step). Alias: Heun. */
export const heun: SamplerPlugin<typeof options> = {
  name: "heun",
  aliases: ["Heun", "heun-discrete"],
  description: "Heun's method on the probability-flow ODE (VE, second order, 2 model calls per step)",
  options,
  space: "VE",
  order: () => 2,
  stochastic: () => false,
  plan,
  start,
};

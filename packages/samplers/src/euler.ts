// Euler's method on the PF-ODE in VE variables (Karras et al. 2022, Algorithm 1 without churn),
// diffusers `EulerDiscreteScheduler` semantics: x <- x + (x - D(x; s)) / s * (s_next - s).
import type { ConfigOf, FloatArray, NoiseSchedule, PlanData, SamplerPlugin } from "@fccf/core";
import { conversion, option } from "@fccf/core";
import {
  fixedOption,
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
  finalSigmasType: option.oneOf(["zero", "sigma_min"], "zero", "noise level of the returned sample"),
  interpolationType: fixedOption("linear", "sigma interpolation"),
  timestepType: fixedOption("discrete", "timestep type"),
  sigmaMin: fixedOption(null, "Karras sigma_min"),
  sigmaMax: fixedOption(null, "Karras sigma_max"),
  rescaleBetasZeroSnr: fixedOption(false, "zero-terminal-SNR rescaling"),
  ...unsupportedSigmaOptions,
};
type Config = ConfigOf<typeof options>;

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const final = c.finalSigmasType === "zero" ? 0 : schedule.sigmas[0]!;
  const base = veBase("euler", schedule, c.timestepSpacing, steps, c.stepsOffset, final);
  return { timesteps: base.timesteps, levels: base.sigmas, initNoiseSigma: base.initNoiseSigma };
}

function start(_schedule: NoiseSchedule, c: Config, p: PlanData) {
  return {
    scaleModelInput: (x: FloatArray, i: number, out: FloatArray) => scaleVeInput(x, p.levels[i]!, out),
    step(out: FloatArray, x: FloatArray, i: number) {
      const s = p.levels[i]!;
      const { px, po, q } = conversion(c.predictionType, "ve-x0", 1, s);
      // (x - x0) / s * dt, with the division folded into one factor.
      const k = (p.levels[i + 1]! - s) / s;
      for (let j = 0; j < x.length; j++) {
        const xv = x[j]!;
        x[j] = xv + (xv - (px * xv + po * out[j]!) * q) * k;
      }
    },
  };
}

/** Euler (first order, deterministic). Alias: Euler. */
export const euler: SamplerPlugin<typeof options> = {
  name: "euler",
  aliases: ["Euler", "euler-discrete"],
  description: "Euler's method on the probability-flow ODE (VE, first order)",
  options,
  space: "VE",
  order: () => 1,
  stochastic: () => false,
  plan,
  start,
};

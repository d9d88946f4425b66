// DDIM (Song et al. 2021), diffusers `DDIMScheduler` semantics: x_{t'} = sqrt(abar') x0 +
// sqrt(1 - abar' - std^2) eps + std z, with t' = t - T/n (even for linspace/trailing spacing).
import type { ConfigOf, FloatArray, NoiseSchedule, NoiseSource, PlanData, SamplerPlugin } from "@fccf/core";
import { clampInPlace, option } from "@fccf/core";
import {
  Buffers,
  fixedOption,
  predictionOption,
  spacingOption,
  stepsOffsetOption,
  unsupportedThresholdOptions,
} from "./common.js";
import { discreteTimesteps } from "./timesteps.js";

const options = {
  predictionType: predictionOption(),
  eta: option.number(0, "weight of the fresh noise (0 = deterministic DDIM, 1 = DDPM-like)", { min: 0 }),
  timestepSpacing: spacingOption("leading"),
  stepsOffset: stepsOffsetOption(),
  clipSample: option.bool(true, "clip the x0 estimate to [-clipSampleRange, clipSampleRange]"),
  clipSampleRange: option.number(1, "clip range of the x0 estimate", { min: 0 }),
  setAlphaToOne: option.bool(true, "the final step goes to abar = 1 (else to abar[0])"),
  rescaleBetasZeroSnr: fixedOption(false, "zero-terminal-SNR rescaling"),
  ...unsupportedThresholdOptions,
};
type Config = ConfigOf<typeof options>;

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const T = schedule.numTrainTimesteps;
  const timesteps = discreteTimesteps("ddim", c.timestepSpacing, steps, T, c.stepsOffset);
  const ratio = Math.floor(T / steps);
  const finalAbar = c.setAlphaToOne ? 1 : schedule.alphasCumprod[0]!;
  const prevT = timesteps.at(-1)! - ratio;
  const lastAbar = prevT >= 0 ? schedule.alphasCumprod[prevT]! : finalAbar;
  const levels = [...timesteps.map((t) => schedule.sigmas[t]!), Math.sqrt((1 - lastAbar) / lastAbar)];
  return { timesteps, levels, initNoiseSigma: 1 };
}

function start(schedule: NoiseSchedule, c: Config, p: PlanData) {
  const ac = schedule.alphasCumprod;
  const ratio = Math.floor(schedule.numTrainTimesteps / p.timesteps.length);
  const finalAbar = c.setAlphaToOne ? 1 : ac[0]!;
  const buf = new Buffers();
  return {
    step(out: FloatArray, x: FloatArray, i: number, noise: NoiseSource | undefined) {
      const t = p.timesteps[i]!;
      const prevT = t - ratio;
      const a = ac[t]!;
      const aPrev = prevT >= 0 ? ac[prevT]! : finalAbar;
      const b = 1 - a;
      const x0 = buf.get(0, x);
      const eps = buf.get(1, x);
      const n = x.length;
      if (c.predictionType === "epsilon") {
        for (let k = 0; k < n; k++) {
          x0[k] = (x[k]! - b ** 0.5 * out[k]!) / a ** 0.5;
          eps[k] = out[k]!;
        }
      } else if (c.predictionType === "sample") {
        for (let k = 0; k < n; k++) {
          x0[k] = out[k]!;
          eps[k] = (x[k]! - a ** 0.5 * out[k]!) / b ** 0.5;
        }
      } else {
        for (let k = 0; k < n; k++) {
          x0[k] = a ** 0.5 * x[k]! - b ** 0.5 * out[k]!;
          eps[k] = a ** 0.5 * out[k]! + b ** 0.5 * x[k]!;
        }
      }
      if (c.clipSample) clampInPlace(x0, -c.clipSampleRange, c.clipSampleRange);
      const variance = ((1 - aPrev) / b) * (1 - a / aPrev);
      const std = c.eta * variance ** 0.5;
      const cx0 = aPrev ** 0.5;
      const ceps = (1 - aPrev - std ** 2) ** 0.5;
      for (let k = 0; k < n; k++) x[k] = cx0 * x0[k]! + ceps * eps[k]!;
      if (c.eta > 0) {
        const z = buf.get(2, x);
        noise!.fill(z);
        for (let k = 0; k < n; k++) x[k] = x[k]! + std * z[k]!;
      }
    },
  };
}

/** DDIM: deterministic for eta = 0, stochastic otherwise. Aliases: DDIM. */
export const ddim: SamplerPlugin<typeof options> = {
  name: "ddim",
  aliases: ["DDIM"],
  description: "DDIM (eta 0: deterministic first-order ODE solver; eta > 0: ancestral noise)",
  options,
  space: "VP",
  order: () => 1,
  stochastic: (c) => c.eta > 0,
  plan,
  start,
};

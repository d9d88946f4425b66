// KDPM2 (k-diffusion `sample_dpm_2`, diffusers `KDPM2DiscreteScheduler`): a midpoint method in
// log-sigma. Euler to the geometric midpoint sigma_mid = sqrt(s * s_next), evaluate there, then take
// the full step from the start with that derivative. Two model calls per step.
import type { ConfigOf, NoiseSchedule, PlanData, SamplerPlugin } from "@fccf/core";
import { conversion, lerpHalf } from "@fccf/core";
import { predictionOption, sigmaSpacingOptions, spacingOption, stepsOffsetOption } from "./common.js";
import { Arena } from "./kernels/kernel.js";
import { VeKernel, veBase, veStepper } from "./ve-plan.js";

const options = {
  predictionType: predictionOption(),
  timestepSpacing: spacingOption("linspace"),
  stepsOffset: stepsOffsetOption(),
  ...sigmaSpacingOptions,
};
type Config = ConfigOf<typeof options>;

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const base = veBase("kdpm2", schedule, c.timestepSpacing, steps, c.stepsOffset, 0, c.useKarrasSigmas);
  const ts = base.timesteps;
  const s = base.sigmas; // n levels + final 0
  const timesteps = [ts[0]!];
  const levels = [s[0]!];
  for (let k = 1; k < s.length; k++) {
    // Midpoint between level k-1 and k in log sigma (evaluated as torch.lerp does; 0 at the end).
    const mid = Math.exp(lerpHalf(Math.log(s[k]!), Math.log(s[k - 1]!)));
    levels.push(mid);
    if (k < ts.length) {
      timesteps.push(schedule.timestepOfSigma(mid), ts[k]!);
      levels.push(s[k]!);
    }
  }
  const startIndices = timesteps.map((_, i) => i).filter((i) => i % 2 === 0);
  return { timesteps, levels, initNoiseSigma: base.initNoiseSigma, startIndices };
}

// The update loops below as WebAssembly kernels (kernels/kernel.ts), same expressions.
const FIRST = new VeKernel(
  "x out saved",
  "px po q k",
  "xv = x; saved = xv; x = xv + (xv - (px * xv + po * out) * q) * k;",
);
const SECOND = new VeKernel(
  "x out saved",
  "px po q k",
  "xv = x; x = saved + (xv - (px * xv + po * out) * q) * k;",
);

function start(_schedule: NoiseSchedule, c: Config, p: PlanData, begin: number) {
  const arena = new Arena(2);
  return veStepper(p.levels, arena, 1, (out, x, i, _noise, inp, ks) => {
    const saved = arena.array(0, x);
    if ((i - begin) % 2 === 0) {
      const sigma = p.levels[i]!;
      const { px, po, q } = conversion(c.predictionType, "ve-x0", 1, sigma);
      const k = (p.levels[i + 1]! - sigma) / sigma;
      if (FIRST.run(arena, [x, out, saved], [px, po, q, k], inp, ks)) return inp !== undefined;
      for (let j = 0; j < x.length; j++) {
        const xv = x[j]!;
        saved[j] = xv;
        x[j] = xv + (xv - (px * xv + po * out[j]!) * q) * k;
      }
      return false;
    }
    const mid = p.levels[i]!;
    const { px, po, q } = conversion(c.predictionType, "ve-x0", 1, mid);
    const k = (p.levels[i + 1]! - p.levels[i - 1]!) / mid;
    if (SECOND.run(arena, [x, out, saved], [px, po, q, k], inp, ks)) return inp !== undefined;
    for (let j = 0; j < x.length; j++) {
      const xv = x[j]!;
      x[j] = saved[j]! + (xv - (px * xv + po * out[j]!) * q) * k;
    }
    return false;
  });
}

/** KDPM2 (second order, two model calls per step). */
export const kdpm2: SamplerPlugin<typeof options> = {
  name: "kdpm2",
  aliases: ["dpm2", "k-dpm2", "kdpm2-discrete"],
  description: "DPM-2 / KDPM2 midpoint method in log sigma (VE, second order, 2 model calls per step)",
  options,
  space: "VE",
  order: () => 2,
  stochastic: () => false,
  plan,
  start,
};

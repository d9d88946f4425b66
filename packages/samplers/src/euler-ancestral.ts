// Euler-ancestral (k-diffusion `sample_euler_ancestral`, diffusers `EulerAncestralDiscreteScheduler`):
// an Euler step down to sigma_down, then fresh noise of std sigma_up, with sigma_down^2 + sigma_up^2
// = sigma_next^2.
import type { ConfigOf, NoiseSchedule, PlanData, SamplerPlugin } from "@fccf/core";
import { conversion } from "@fccf/core";
import { fixedOption, predictionOption, spacingOption, stepsOffsetOption } from "./common.js";
import { Arena } from "./kernels/kernel.js";
import { VeKernel, veBase, veStepper } from "./ve-plan.js";

const options = {
  predictionType: predictionOption(),
  timestepSpacing: spacingOption("linspace"),
  stepsOffset: stepsOffsetOption(),
  rescaleBetasZeroSnr: fixedOption(false, "zero-terminal-SNR rescaling"),
};
type Config = ConfigOf<typeof options>;

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const base = veBase("euler-ancestral", schedule, c.timestepSpacing, steps, c.stepsOffset);
  return { timesteps: base.timesteps, levels: base.sigmas, initNoiseSigma: base.initNoiseSigma };
}

// The update loop below as a WebAssembly kernel (kernels/kernel.ts), same expression.
const STEP = new VeKernel(
  "x out z",
  "px po q k up",
  "xv = x; x = xv + (xv - (px * xv + po * out) * q) * k + z * up;",
);

function start(_schedule: NoiseSchedule, c: Config, p: PlanData) {
  const arena = new Arena(2);
  return veStepper(p.levels, arena, 1, (out, x, i, noise, inp, ks) => {
    const sigma = p.levels[i]!;
    const next = p.levels[i + 1]!;
    const { px, po, q } = conversion(c.predictionType, "ve-x0", 1, sigma);
    const up = ((next ** 2 * (sigma ** 2 - next ** 2)) / sigma ** 2) ** 0.5;
    const down = (next ** 2 - up ** 2) ** 0.5;
    const k = (down - sigma) / sigma;
    const z = arena.array(0, x);
    noise!.fill(z);
    if (STEP.run(arena, [x, out, z], [px, po, q, k, up], inp, ks)) return inp !== undefined;
    for (let j = 0; j < x.length; j++) {
      const xv = x[j]!;
      x[j] = xv + (xv - (px * xv + po * out[j]!) * q) * k + z[j]! * up;
    }
    return false;
  });
}

/** Euler-ancestral (stochastic, first order). */
export const eulerAncestral: SamplerPlugin<typeof options> = {
  name: "euler-ancestral",
  aliases: ["euler_a", "euler-a", "Euler-ancestral", "euler_ancestral"],
  description: "Euler-ancestral (VE, stochastic, first order)",
  options,
  space: "VE",
  order: () => 1,
  stochastic: () => true,
  plan,
  start,
};

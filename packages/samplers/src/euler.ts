// Euler's method on the PF-ODE in VE variables (Karras et al. 2022, Algorithm 2 with its optional
// churn), diffusers `EulerDiscreteScheduler` semantics: x <- x + (x - D(x; s)) / s * (s_next - s);
// with sChurn > 0 the level is first raised to s_hat = s (1 + gamma) by fresh noise.
import type { ConfigOf, FloatArray, NoiseSchedule, PlanData, SamplerPlugin } from "@fccf/core";
import { conversion, option } from "@fccf/core";
import {
  fixedOption,
  predictionOption,
  sigmaSpacingOptions,
  spacingOption,
  stepsOffsetOption,
} from "./common.js";
import { Arena } from "./kernels/kernel.js";
import { VeKernel, veBase, veStepper } from "./ve-plan.js";

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
  sChurn: option.number(0, "stochasticity: noise added per step (0 = deterministic)", { min: 0 }),
  sTmin: option.number(0, "churn only at levels >= sTmin", { min: 0 }),
  sTmax: option.number(Number.POSITIVE_INFINITY, "churn only at levels <= sTmax", {
    min: 0,
    allowInfinity: true,
  }),
  sNoise: option.number(1, "scale of the churn noise", { min: 0 }),
  ...sigmaSpacingOptions,
};
type Config = ConfigOf<typeof options>;

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const final = c.finalSigmasType === "zero" ? 0 : schedule.sigmas[0]!;
  const base = veBase("euler", schedule, c.timestepSpacing, steps, c.stepsOffset, final, c.useKarrasSigmas);
  return { timesteps: base.timesteps, levels: base.sigmas, initNoiseSigma: base.initNoiseSigma };
}

// The update loops below as WebAssembly kernels (kernels/kernel.ts), same expressions.
const EULER = "x = xv + (xv - (px * xv + po * out) * q) * k;";
const STEP = new VeKernel("x out", "px po q k", `xv = x; ${EULER}`);
const CHURN = new VeKernel("x out z", "px po q k up", `xv = x + z * up; ${EULER}`);

function start(_schedule: NoiseSchedule, c: Config, p: PlanData) {
  const arena = new Arena(2);
  const steps = p.levels.length - 1;
  return veStepper(p.levels, arena, 1, (out, x, i, noise, inp, ks) => {
    const s = p.levels[i]!;
    const gamma = c.sTmin <= s && s <= c.sTmax ? Math.min(c.sChurn / steps, 2 ** 0.5 - 1) : 0;
    if (gamma > 0) {
      const z = arena.array(0, x);
      noise!.fill(z);
      return churnStep(c, arena, out, x, z, s, s * (gamma + 1), p.levels[i + 1]!, inp, ks);
    }
    const { px, po, q } = conversion(c.predictionType, "ve-x0", 1, s);
    // (x - x0) / s * dt, with the division folded into one factor.
    const k = (p.levels[i + 1]! - s) / s;
    if (STEP.run(arena, [x, out], [px, po, q, k], inp, ks)) return inp !== undefined;
    for (let j = 0; j < x.length; j++) {
      const xv = x[j]!;
      x[j] = xv + (xv - (px * xv + po * out[j]!) * q) * k;
    }
    return false;
  });
}

/** An Euler step from the raised level sHat after adding the noise z of std sqrt(sHat^2 - s^2). */
function churnStep(
  c: Config,
  arena: Arena,
  out: FloatArray,
  x: FloatArray,
  z: FloatArray,
  s: number,
  sHat: number,
  next: number,
  inp: FloatArray | undefined,
  ks: number | undefined,
): boolean {
  const up = c.sNoise * (sHat ** 2 - s ** 2) ** 0.5;
  // The eps parameterisation is read at sHat; v at the level the input was scaled for (diffusers).
  const { px, po, q } =
    c.predictionType === "v_prediction"
      ? conversion(c.predictionType, "ve-x0", 1, s)
      : conversion(c.predictionType, "ve-x0", 1, sHat);
  const k = (next - sHat) / sHat;
  if (CHURN.run(arena, [x, out, z], [px, po, q, k, up], inp, ks)) return inp !== undefined;
  for (let j = 0; j < x.length; j++) {
    const xv = x[j]! + z[j]! * up;
    x[j] = xv + (xv - (px * xv + po * out[j]!) * q) * k;
  }
  return false;
}

/** Euler (first order; stochastic with sChurn > 0). Alias: Euler. */
export const euler: SamplerPlugin<typeof options> = {
  name: "euler",
  aliases: ["Euler", "euler-discrete"],
  description: "Euler's method on the probability-flow ODE (VE, first order)",
  options,
  space: "VE",
  order: () => 1,
  stochastic: (c) => c.sChurn > 0,
  plan,
  start,
};

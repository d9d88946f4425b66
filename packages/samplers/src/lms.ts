// Linear multistep (k-diffusion `sample_lms`, diffusers `LMSDiscreteScheduler`): the derivative
// (x - D)/sigma of the last `lmsOrder` levels is interpolated by a Lagrange polynomial in sigma and
// integrated exactly over [sigma_i, sigma_{i+1}] (Gauss-Legendre, exact for these degrees).
import type { ConfigOf, FloatArray, NoiseSchedule, PlanData, SamplerPlugin } from "@fccf/core";
import { option, vePredictionToX0 } from "@fccf/core";
import {
  Buffers,
  History,
  predictionOption,
  spacingOption,
  stepsOffsetOption,
  unsupportedSigmaOptions,
} from "./common.js";
import { scaleVeInput, veBase } from "./ve-plan.js";

const options = {
  predictionType: predictionOption(),
  lmsOrder: option.number(4, "number of derivatives combined per step (1-4)", {
    integer: true,
    min: 1,
    max: 4,
  }),
  timestepSpacing: spacingOption("linspace"),
  stepsOffset: stepsOffsetOption(),
  ...unsupportedSigmaOptions,
};
type Config = ConfigOf<typeof options>;

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const base = veBase("lms", schedule, c.timestepSpacing, steps, c.stepsOffset);
  return { timesteps: base.timesteps, levels: base.sigmas, initNoiseSigma: base.initNoiseSigma };
}

// 4-point Gauss-Legendre rule on [-1, 1]: exact for polynomials up to degree 7.
const GL_X = [-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526];
const GL_W = [0.34785484513745385, 0.6521451548625461, 0.6521451548625461, 0.34785484513745385];

/**
 * Integral over [levels[i], levels[i+1]] of the Lagrange basis polynomial of node `j` among the
 * nodes levels[i], levels[i-1], ..., levels[i-order+1].
 */
export function lmsCoefficient(levels: readonly number[], order: number, i: number, j: number): number {
  const a = levels[i]!;
  const b = levels[i + 1]!;
  const basis = (tau: number) => {
    let prod = 1;
    for (let k = 0; k < order; k++) {
      if (k === j) continue;
      prod *= (tau - levels[i - k]!) / (levels[i - j]! - levels[i - k]!);
    }
    return prod;
  };
  const half = (b - a) / 2;
  const mid = (a + b) / 2;
  let sum = 0;
  for (let q = 0; q < GL_X.length; q++) sum += GL_W[q]! * basis(mid + half * GL_X[q]!);
  return sum * half;
}

function start(_schedule: NoiseSchedule, c: Config, p: PlanData) {
  const buf = new Buffers();
  const derivatives = new History(c.lmsOrder);
  return {
    scaleModelInput: (x: FloatArray, i: number, out: FloatArray) => scaleVeInput(x, p.levels[i]!, out),
    step(out: FloatArray, x: FloatArray, i: number) {
      const sigma = p.levels[i]!;
      const d = vePredictionToX0(c.predictionType, out, x, sigma, buf.get(0, x));
      for (let j = 0; j < x.length; j++) d[j] = (x[j]! - d[j]!) / sigma;
      derivatives.push(d);
      const order = derivatives.length;
      for (let k = 0; k < order; k++) {
        const coeff = lmsCoefficient(p.levels, order, i, k);
        const dk = derivatives.at(k + 1);
        for (let j = 0; j < x.length; j++) x[j] = x[j]! + coeff * dk[j]!;
      }
    },
  };
}

/** LMS (linear multistep, up to 4th order). Alias: LMS. */
export const lms: SamplerPlugin<typeof options> = {
  name: "lms",
  aliases: ["LMS", "lms-discrete", "k-lms"],
  description: "linear multistep on the probability-flow ODE (VE, orders up to 4)",
  options,
  space: "VE",
  order: (c) => c.lmsOrder,
  stochastic: () => false,
  plan,
  start,
};

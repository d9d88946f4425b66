// Linear multistep (k-diffusion `sample_lms`, diffusers `LMSDiscreteScheduler`): the derivative
// (x - D)/sigma of the last `lmsOrder` levels is interpolated by a Lagrange polynomial in sigma and
// integrated exactly over [sigma_i, sigma_{i+1}] (Gauss-Legendre, exact for these degrees).
import type { ConfigOf, NoiseSchedule, PlanData, SamplerPlugin } from "@fccf/core";
import { conversion, option } from "@fccf/core";
import {
  History,
  predictionOption,
  sigmaSpacingOptions,
  spacingOption,
  stepsOffsetOption,
} from "./common.js";
import { Arena } from "./kernels/kernel.js";
import { VeKernel, veBase, veStepper } from "./ve-plan.js";

const options = {
  predictionType: predictionOption(),
  lmsOrder: option.number(4, "number of derivatives combined per step (1-4)", {
    integer: true,
    min: 1,
    max: 4,
  }),
  timestepSpacing: spacingOption("linspace"),
  stepsOffset: stepsOffsetOption(),
  ...sigmaSpacingOptions,
};
type Config = ConfigOf<typeof options>;

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const base = veBase("lms", schedule, c.timestepSpacing, steps, c.stepsOffset, 0, c.useKarrasSigmas);
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

// The update loop below as a WebAssembly kernel (kernels/kernel.ts), same expression.
const STEP = new VeKernel(
  "x out slot d1 d2 d3",
  "px po q inv c0 c1 c2 c3",
  "xv = x; d = (xv - (px * xv + po * out) * q) * inv; v = xv + c0 * d + c1 * d1 + c2 * d2 + c3 * d3;" +
    "slot = d; x = v;",
);

function start(_schedule: NoiseSchedule, c: Config, p: PlanData) {
  const arena = new Arena(c.lmsOrder + 1);
  const derivatives = new History(c.lmsOrder, arena);
  return veStepper(p.levels, arena, c.lmsOrder, (out, x, i, _noise, inp, ks) => {
    const sigma = p.levels[i]!;
    const { px, po, q } = conversion(c.predictionType, "ve-x0", 1, sigma);
    const past = Array.from({ length: Math.min(derivatives.length, c.lmsOrder - 1) }, (_, k) =>
      derivatives.at(k + 1),
    );
    const order = past.length + 1;
    const coeffs = Array.from({ length: order }, (_, k) => lmsCoefficient(p.levels, order, i, k));
    const slot = derivatives.advance(x);
    const inv = 1 / sigma;
    const c0 = coeffs[0]!;
    const [c1, c2, c3] = [coeffs[1] ?? 0, coeffs[2] ?? 0, coeffs[3] ?? 0];
    const [d1, d2, d3] = [past[0] ?? slot, past[1] ?? slot, past[2] ?? slot];
    const arrays = [x, out, slot, d1, d2, d3];
    if (STEP.run(arena, arrays, [px, po, q, inv, c0, c1, c2, c3], inp, ks)) return inp !== undefined;
    for (let j = 0; j < x.length; j++) {
      const xv = x[j]!;
      const d = (xv - (px * xv + po * out[j]!) * q) * inv;
      // Read the older derivatives before the slot (possibly the oldest one) is overwritten.
      const v = xv + c0 * d + c1 * d1[j]! + c2 * d2[j]! + c3 * d3[j]!;
      slot[j] = d;
      x[j] = v;
    }
    return false;
  });
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

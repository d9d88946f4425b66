// Heun's method (Karras et al. 2022, Algorithm 1), diffusers `HeunDiscreteScheduler` semantics: each
// step is an Euler predictor to the next level followed by a trapezoidal corrector, two model calls
// per step; the last step (to sigma = 0) is a plain Euler step.
import type { ConfigOf, NoiseSchedule, PlanData, SamplerPlugin } from "@fccf/core";
import { conversion, option } from "@fccf/core";
import { clamp, predictionOption, sigmaSpacingOptions, spacingOption, stepsOffsetOption } from "./common.js";
import { Arena } from "./kernels/kernel.js";
import { VeKernel, veBase, veStepper } from "./ve-plan.js";

const options = {
  predictionType: predictionOption(),
  timestepSpacing: spacingOption("linspace"),
  stepsOffset: stepsOffsetOption(),
  clipSample: option.bool(false, "clip the x0 estimate to [-clipSampleRange, clipSampleRange]"),
  clipSampleRange: option.number(1, "clip range of the x0 estimate", { min: 0 }),
  ...sigmaSpacingOptions,
};
type Config = ConfigOf<typeof options>;

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const base = veBase("heun", schedule, c.timestepSpacing, steps, c.stepsOffset, 0, c.useKarrasSigmas);
  const ts = base.timesteps;
  const s = base.sigmas;
  // Entries: t0, then (t_k, t_k) for the predictor and corrector calls of each following level.
  const timesteps = [ts[0]!, ...ts.slice(1).flatMap((t) => [t, t])];
  const levels = [s[0]!, ...s.slice(1, -1).flatMap((v) => [v, v]), s.at(-1)!];
  const startIndices = timesteps.map((_, i) => i).filter((i) => i % 2 === 0);
  return { timesteps, levels, initNoiseSigma: base.initNoiseSigma, startIndices };
}

// The update loops below as WebAssembly kernels (kernels/kernel.ts), same expressions.
const E = "xv = x; e = (px * xv + po * out) * q;";
const CLAMPED = "(xv - min(max(e, lo), r)) * inv";
const PREDICT_CLIP = new VeKernel(
  "x out d1",
  "px po q inv dt lo r",
  `${E} d = ${CLAMPED}; d1 = d; x = xv + d * dt;`,
);
const PREDICT = new VeKernel(
  "x out d1",
  "px po q inv dt",
  "xv = x; d = (xv - (px * xv + po * out) * q) * inv; d1 = d; x = xv + d * dt;",
);
const CORRECT_CLIP = new VeKernel(
  "x out d1",
  "px po q inv half lo r",
  `${E} x = xv + (${CLAMPED} - d1) * half;`,
);
const CORRECT = new VeKernel(
  "x out d1",
  "px po q inv half",
  "xv = x; x = xv + ((xv - (px * xv + po * out) * q) * inv - d1) * half;",
);

function start(_schedule: NoiseSchedule, c: Config, p: PlanData, begin: number) {
  const arena = new Arena(2);
  let dt = 0;
  return veStepper(p.levels, arena, 1, (out, x, i, _noise, inp, ks) => {
    const d1 = arena.array(0, x);
    const clip = c.clipSample;
    const r = c.clipSampleRange;
    const lo = -r;
    const n = x.length;
    const fused = inp !== undefined;
    if ((i - begin) % 2 === 0) {
      // Euler predictor to the next level; keeps its derivative d1.
      const sigma = p.levels[i]!;
      const { px, po, q } = conversion(c.predictionType, "ve-x0", 1, sigma);
      dt = p.levels[i + 1]! - sigma;
      const inv = 1 / sigma;
      if (clip && PREDICT_CLIP.run(arena, [x, out, d1], [px, po, q, inv, dt, lo, r], inp, ks)) return fused;
      if (!clip && PREDICT.run(arena, [x, out, d1], [px, po, q, inv, dt], inp, ks)) return fused;
      if (clip) {
        for (let j = 0; j < n; j++) {
          const xv = x[j]!;
          const e = (px * xv + po * out[j]!) * q;
          const d = (xv - clamp(e, lo, r)) * inv;
          d1[j] = d;
          x[j] = xv + d * dt;
        }
      } else {
        for (let j = 0; j < n; j++) {
          const xv = x[j]!;
          const d = (xv - (px * xv + po * out[j]!) * q) * inv;
          d1[j] = d;
          x[j] = xv + d * dt;
        }
      }
      return false;
    }
    // Trapezoidal corrector: x_start + (d1 + d2)/2 dt, written from the predicted state
    // x_start + d1 dt so the start does not need a copy.
    const next = p.levels[i]!;
    const { px, po, q } = conversion(c.predictionType, "ve-x0", 1, next);
    const inv = 1 / next;
    const half = dt / 2;
    if (clip && CORRECT_CLIP.run(arena, [x, out, d1], [px, po, q, inv, half, lo, r], inp, ks)) return fused;
    if (!clip && CORRECT.run(arena, [x, out, d1], [px, po, q, inv, half], inp, ks)) return fused;
    if (clip) {
      for (let j = 0; j < n; j++) {
        const xv = x[j]!;
        const e = (px * xv + po * out[j]!) * q;
        x[j] = xv + ((xv - clamp(e, lo, r)) * inv - d1[j]!) * half;
      }
    } else {
      for (let j = 0; j < n; j++) {
        const xv = x[j]!;
        x[j] = xv + ((xv - (px * xv + po * out[j]!) * q) * inv - d1[j]!) * half;
      }
    }
    return false;
  });
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

// DDIM (Song et al. 2021), diffusers `DDIMScheduler` semantics: x_{t'} = sqrt(abar') x0 +
// sqrt(1 - abar' - std^2) eps + std z, with t' = t - T/n (even for linspace/trailing spacing).
import type { ConfigOf, FloatArray, NoiseSchedule, NoiseSource, PlanData, SamplerPlugin } from "@fccf/core";
import { option } from "@fccf/core";
import {
  Buffers,
  clamp,
  fixedOption,
  predictionOption,
  spacingOption,
  stepsOffsetOption,
  unsupportedThresholdOptions,
} from "./common.js";
import { Arena, Kernel } from "./kernels/kernel.js";
import { discreteTimesteps } from "./timesteps.js";

const options = {
  predictionType: predictionOption(),
  eta: option.number(0, "weight of the fresh noise (0 = deterministic DDIM, 1 = DDPM-like)", { min: 0 }),
  timestepSpacing: spacingOption("leading"),
  stepsOffset: stepsOffsetOption(),
  clipSample: option.bool(true, "clip the x0 estimate to [-clipSampleRange, clipSampleRange]"),
  clipSampleRange: option.number(1, "clip range of the x0 estimate", { min: 0 }),
  setAlphaToOne: option.bool(true, "the final step goes to abar = 1 (else to abar[0])"),
  useClippedModelOutput: option.bool(false, "recompute the noise estimate from the clipped x0 estimate"),
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

// The loops below as WebAssembly kernels (kernels/kernel.ts), same expressions.
const COEFFS = "px po q cx0 ceps ex eo r";
const CLAMP = "min(max(e, lo), hi)";
const E = "xv = x; o = out; e = (px * xv + po * o) * q;";
const NOISE = "ceps * ((ex * xv + eo * o) * r)";
const Z_CLIP = new Kernel(
  "x out z",
  `${COEFFS} lo hi std`,
  `${E} x = cx0 * (${CLAMP}) + ${NOISE} + std * z;`,
);
const Z = new Kernel("x out z", `${COEFFS} std`, `${E} x = cx0 * e + ${NOISE} + std * z;`);
const CLIP = new Kernel("x out", `${COEFFS} lo hi`, `${E} x = cx0 * (${CLAMP}) + ${NOISE};`);
const PLAIN = new Kernel("x out", COEFFS, `xv = x; o = out; x = cx0 * ((px * xv + po * o) * q) + ${NOISE};`);

function start(schedule: NoiseSchedule, c: Config, p: PlanData) {
  const ac = schedule.alphasCumprod;
  const ratio = Math.floor(schedule.numTrainTimesteps / p.timesteps.length);
  const finalAbar = c.setAlphaToOne ? 1 : ac[0]!;
  const arena = new Arena(1);
  const buf = new Buffers(arena);
  return {
    release: () => arena.release(),
    step(out: FloatArray, x: FloatArray, i: number, noise: NoiseSource | undefined) {
      const t = p.timesteps[i]!;
      const prevT = t - ratio;
      const a = ac[t]!;
      const aPrev = prevT >= 0 ? ac[prevT]! : finalAbar;
      const b = 1 - a;
      const sa = a ** 0.5;
      const sb = b ** 0.5;
      // x0 = (px x + po out) q and eps = (ex x + eo out) r, as diffusers computes them per type.
      let [px, po, q, ex, eo, r] = [1, -sb, 1 / sa, 0, 1, 1];
      if (c.predictionType === "sample") [px, po, q, ex, eo, r] = [0, 1, 1, 1, -sa, 1 / sb];
      else if (c.predictionType === "v_prediction") [px, po, q, ex, eo, r] = [sa, -sb, 1, sb, sa, 1];
      const variance = ((1 - aPrev) / b) * (1 - a / aPrev);
      const std = c.eta * variance ** 0.5;
      const cx0 = aPrev ** 0.5;
      const ceps = (1 - aPrev - std ** 2) ** 0.5;
      const clip = c.clipSample;
      const lo = -c.clipSampleRange;
      const hi = c.clipSampleRange;
      let z: FloatArray | undefined;
      if (c.eta > 0) {
        z = buf.get(0, x);
        noise!.fill(z);
      }
      const n = x.length;
      if (c.useClippedModelOutput) {
        // Rarely used: one general loop. eps is recomputed from the (clipped) x0 estimate.
        for (let k = 0; k < n; k++) {
          const xv = x[k]!;
          const e = (px * xv + po * out[k]!) * q;
          const x0 = clip ? clamp(e, lo, hi) : e;
          const v = cx0 * x0 + ceps * ((xv - sa * x0) / sb);
          x[k] = z ? v + std * z[k]! : v;
        }
        return;
      }
      const coeffs = [px, po, q, cx0, ceps, ex, eo, r];
      if (z && clip && arena.run(Z_CLIP, [x, out, z], [...coeffs, lo, hi, std])) return;
      if (z && !clip && arena.run(Z, [x, out, z], [...coeffs, std])) return;
      if (!z && clip && arena.run(CLIP, [x, out], [...coeffs, lo, hi])) return;
      if (!z && !clip && arena.run(PLAIN, [x, out], coeffs)) return;
      // One loop per case: a loop-invariant branch inside the loop costs V8 about a pass.
      if (z) {
        // Stochastic runs pay for the noise draw anyway; one loop serves both clip settings.
        for (let k = 0; k < n; k++) {
          const xv = x[k]!;
          const o = out[k]!;
          const e = (px * xv + po * o) * q;
          const x0 = clip ? clamp(e, lo, hi) : e;
          x[k] = cx0 * x0 + ceps * ((ex * xv + eo * o) * r) + std * z[k]!;
        }
      } else if (clip) {
        for (let k = 0; k < n; k++) {
          const xv = x[k]!;
          const o = out[k]!;
          const e = (px * xv + po * o) * q;
          x[k] = cx0 * clamp(e, lo, hi) + ceps * ((ex * xv + eo * o) * r);
        }
      } else {
        for (let k = 0; k < n; k++) {
          const xv = x[k]!;
          const o = out[k]!;
          x[k] = cx0 * ((px * xv + po * o) * q) + ceps * ((ex * xv + eo * o) * r);
        }
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

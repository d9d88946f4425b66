// DDPM ancestral sampling (Ho et al. 2020), diffusers `DDPMScheduler` semantics: the posterior mean
// q(x_{t'} | x_t, x0) plus fresh noise of the posterior (fixed_small) or prior (fixed_large) variance.
import type { ConfigOf, FloatArray, NoiseSchedule, NoiseSource, PlanData, SamplerPlugin } from "@fccf/core";
import { conversion, option } from "@fccf/core";
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
  varianceType: option.oneOf(
    ["fixed_small", "fixed_large"],
    "fixed_small",
    "posterior (small) or prior (large) variance",
  ),
  timestepSpacing: spacingOption("leading"),
  stepsOffset: stepsOffsetOption(),
  clipSample: option.bool(true, "clip the x0 estimate to [-clipSampleRange, clipSampleRange]"),
  clipSampleRange: option.number(1, "clip range of the x0 estimate", { min: 0 }),
  rescaleBetasZeroSnr: fixedOption(false, "zero-terminal-SNR rescaling"),
  ...unsupportedThresholdOptions,
};
type Config = ConfigOf<typeof options>;

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const timesteps = discreteTimesteps(
    "ddpm",
    c.timestepSpacing,
    steps,
    schedule.numTrainTimesteps,
    c.stepsOffset,
  );
  return { timesteps, levels: [...timesteps.map((t) => schedule.sigmas[t]!), 0], initNoiseSigma: 1 };
}

// The loops below as WebAssembly kernels (kernels/kernel.ts), same expressions.
const CLAMPED = "xv = x; e = (px * xv + po * out) * q; x = c0 * min(max(e, lo), hi) + cx * xv";
const UNCLAMPED = "xv = x; x = c0 * ((px * xv + po * out) * q) + cx * xv";
const Z_CLIP = new Kernel("x out z", "px po q c0 cx lo hi std", `${CLAMPED} + std * z;`);
const Z = new Kernel("x out z", "px po q c0 cx std", `${UNCLAMPED} + std * z;`);
const CLIP = new Kernel("x out", "px po q c0 cx lo hi", `${CLAMPED};`);
const PLAIN = new Kernel("x out", "px po q c0 cx", `${UNCLAMPED};`);

function start(schedule: NoiseSchedule, c: Config, p: PlanData) {
  const ac = schedule.alphasCumprod;
  const arena = new Arena(1);
  const buf = new Buffers(arena);
  return {
    release: () => arena.release(),
    step(out: FloatArray, x: FloatArray, i: number, noise: NoiseSource | undefined) {
      const t = p.timesteps[i]!;
      const prevT = i === p.timesteps.length - 1 ? -1 : p.timesteps[i + 1]!;
      const a = ac[t]!;
      const aPrev = prevT >= 0 ? ac[prevT]! : 1;
      const b = 1 - a;
      const bPrev = 1 - aPrev;
      const alphaT = a / aPrev;
      const betaT = 1 - alphaT;
      const { px, po, q } = conversion(c.predictionType, "x0", a ** 0.5, b ** 0.5);
      const c0 = (aPrev ** 0.5 * betaT) / b;
      const cx = (alphaT ** 0.5 * bPrev) / b;
      let std = 0;
      let z: FloatArray | undefined;
      if (t > 0) {
        const variance = c.varianceType === "fixed_large" ? betaT : Math.max((bPrev / b) * betaT, 1e-20);
        std = variance ** 0.5;
        z = buf.get(0, x);
        noise!.fill(z);
      }
      const clip = c.clipSample;
      const lo = -c.clipSampleRange;
      const hi = c.clipSampleRange;
      const n = x.length;
      const coeffs = [px, po, q, c0, cx];
      if (z && clip && arena.run(Z_CLIP, [x, out, z], [...coeffs, lo, hi, std])) return;
      if (z && !clip && arena.run(Z, [x, out, z], [...coeffs, std])) return;
      if (!z && clip && arena.run(CLIP, [x, out], [...coeffs, lo, hi])) return;
      if (!z && !clip && arena.run(PLAIN, [x, out], coeffs)) return;
      // One loop per case: a loop-invariant branch inside the loop costs V8 about a pass.
      if (z && clip) {
        for (let k = 0; k < n; k++) {
          const xv = x[k]!;
          const e = (px * xv + po * out[k]!) * q;
          x[k] = c0 * clamp(e, lo, hi) + cx * xv + std * z[k]!;
        }
      } else if (z) {
        for (let k = 0; k < n; k++) {
          const xv = x[k]!;
          x[k] = c0 * ((px * xv + po * out[k]!) * q) + cx * xv + std * z[k]!;
        }
      } else if (clip) {
        for (let k = 0; k < n; k++) {
          const xv = x[k]!;
          const e = (px * xv + po * out[k]!) * q;
          x[k] = c0 * clamp(e, lo, hi) + cx * xv;
        }
      } else {
        for (let k = 0; k < n; k++) {
          const xv = x[k]!;
          x[k] = c0 * ((px * xv + po * out[k]!) * q) + cx * xv;
        }
      }
    },
  };
}

/** DDPM ancestral sampler (always stochastic). */
export const ddpm: SamplerPlugin<typeof options> = {
  name: "ddpm",
  aliases: ["DDPM"],
  description: "DDPM ancestral sampling (stochastic, first order)",
  options,
  space: "VP",
  order: () => 1,
  stochastic: () => true,
  plan,
  start,
};

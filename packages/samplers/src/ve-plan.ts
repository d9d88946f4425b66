// Plans of the Karras-style (VE) samplers: float timesteps, sigmas interpolated in t, a final 0.
import type { FloatArray, NoiseSchedule } from "@fccf/core";
import { karrasLevels } from "./common.js";
import { type Arena, Kernel } from "./kernels/kernel.js";
import { karrasTimesteps, type Spacing } from "./timesteps.js";

export interface VeBase {
  timesteps: number[];
  sigmas: number[];
  initNoiseSigma: number;
}

/**
 * The plan of a VE sampler. With `karras`, the n levels of the spacing are replaced by Karras
 * levels between the same extremes and the model is called at their fractional timesteps.
 */
export function veBase(
  name: string,
  schedule: NoiseSchedule,
  spacing: Spacing,
  steps: number,
  offset: number,
  finalSigma = 0,
  karras = false,
): VeBase {
  let timesteps = karrasTimesteps(name, spacing, steps, schedule.numTrainTimesteps, offset);
  let levels = timesteps.map((t) => schedule.sigmaAt(t));
  if (karras) {
    levels = karrasLevels(levels.at(-1)!, levels[0]!, steps);
    timesteps = levels.map((s) => schedule.timestepOfSigma(s));
  }
  const sigmas = [...levels, finalSigma];
  const max = Math.max(...sigmas);
  // Pure noise at the top of a leading plan is scaled for the VP-equivalent variance (diffusers).
  const initNoiseSigma = spacing === "linspace" || spacing === "trailing" ? max : (max * max + 1) ** 0.5;
  return { timesteps, sigmas, initNoiseSigma };
}

const SCALE = new Kernel("x out", "k", "out = x * k;");

/**
 * Model input of a VE state at level s: x / sqrt(s^2 + 1) (the VP state the network was trained
 * on), written into `out` (the run's own input array, kept in its arena).
 */
export function scaleVeInput(x: FloatArray, s: number, out: FloatArray, arena: Arena): FloatArray {
  const k = 1 / (s * s + 1) ** 0.5;
  if (arena.run(SCALE, [x, out], [k])) return out;
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * k;
  return out;
}

// Pieces shared by the DPM-Solver family (multistep and single-step).
import type { NoiseSchedule, PlanData } from "@fccf/core";
import { vpKarrasPlan } from "./common.js";

export type DpmAlgorithm = "dpmsolver++" | "dpmsolver" | "sde-dpmsolver++" | "sde-dpmsolver";
export const DPM_ALGORITHMS: readonly DpmAlgorithm[] = [
  "dpmsolver++",
  "dpmsolver",
  "sde-dpmsolver++",
  "sde-dpmsolver",
];

/** ++ variants integrate the data prediction x0, the others the noise prediction eps. */
export function usesX0(algorithm: DpmAlgorithm): boolean {
  return algorithm === "dpmsolver++" || algorithm === "sde-dpmsolver++";
}

/**
 * The exclusive upper end of the timestep range after clipping lambda from below (critical for the
 * cosine schedule): T minus the number of timesteps whose lambda is below lambdaMinClipped.
 */
export function clippedLastTimestep(schedule: NoiseSchedule, lambdaMinClipped: number): number {
  const T = schedule.numTrainTimesteps;
  let below = 0;
  for (let t = 0; t < T; t++) {
    const a = schedule.alphasCumprod[t]!;
    const lambda = Math.log(Math.sqrt(a)) - Math.log(Math.sqrt(1 - a));
    if (lambda < lambdaMinClipped) below++;
  }
  return T - below;
}

/**
 * The plan of a DPM-Solver over `timesteps`: levels are the schedule's sigmas then the final level
 * (0 or sigma_min); with Karras sigmas the timesteps come from the Karras levels instead.
 */
export function dpmPlanData(
  schedule: NoiseSchedule,
  timesteps: number[],
  steps: number,
  c: { finalSigmasType: "zero" | "sigma_min"; useKarrasSigmas: boolean },
): PlanData {
  const final = c.finalSigmasType === "zero" ? 0 : schedule.sigmas[0]!;
  if (c.useKarrasSigmas) {
    const k = vpKarrasPlan(schedule, steps);
    return { timesteps: k.timesteps, levels: [...k.levels, final], initNoiseSigma: 1 };
  }
  return { timesteps, levels: [...timesteps.map((t) => schedule.sigmas[t]!), final], initNoiseSigma: 1 };
}

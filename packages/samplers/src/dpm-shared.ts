// Pieces shared by the DPM-Solver family (multistep and single-step).
import type { NoiseSchedule } from "@fccf/core";

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

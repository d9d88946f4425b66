import type { ScheduleConfig } from "@fccf/core";

const SCHEDULE_KEYS = ["num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas"];

const camel = (k: string) => k.replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());

/** Splits a diffusers scheduler config into the noise schedule and the fccf sampler options. */
export function translateConfig(
  config: Record<string, unknown>,
  stepKwargs: Record<string, unknown> = {},
): { schedule: ScheduleConfig; options: Record<string, unknown> } {
  const schedule: ScheduleConfig = {
    numTrainTimesteps: config.num_train_timesteps as number | undefined,
    betaStart: config.beta_start as number | undefined,
    betaEnd: config.beta_end as number | undefined,
    betaSchedule: config.beta_schedule as ScheduleConfig["betaSchedule"],
    trainedBetas: config.trained_betas as number[] | null | undefined,
  };
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) if (!SCHEDULE_KEYS.includes(k)) options[camel(k)] = v;
  for (const [k, v] of Object.entries(stepKwargs)) options[camel(k)] = v;
  return { schedule, options };
}

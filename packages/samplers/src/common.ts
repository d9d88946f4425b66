// Option specs and helpers shared by the built-in samplers.
import type { FloatArray, NoiseSchedule, OptionSpec, PredictionType } from "@fccf/core";
import { linspace, option, PREDICTION_TYPES, roundHalfEven } from "@fccf/core";
import type { Arena } from "./kernels/kernel.js";
import { SPACINGS, type Spacing } from "./timesteps.js";

export function predictionOption(
  values: readonly PredictionType[] = PREDICTION_TYPES,
): OptionSpec<PredictionType> {
  return option.oneOf(
    values,
    "epsilon",
    "what the model predicts: epsilon (noise), sample (x0) or v_prediction",
  );
}

export function spacingOption(dflt: Spacing): OptionSpec<Spacing> {
  return option.oneOf(SPACINGS, dflt, "how the timesteps are spread over the training range");
}

export const stepsOffsetOption = (): OptionSpec<number> =>
  option.number(0, "offset added to the timesteps with leading spacing", { integer: true, min: 0 });

/** A diffusers option fccf accepts only at its default value (so configs written for diffusers load). */
export function fixedOption<const T extends string | number | boolean | null>(
  value: T,
  doc: string,
): OptionSpec<T> {
  return option.oneOf([value], value, `${doc} (only ${String(value)} is supported)`);
}

/** Noise-level spacing options: Karras levels, or the timestep spacing (default). */
export const sigmaSpacingOptions = {
  useKarrasSigmas: option.bool(false, "space the noise levels as Karras et al. (2022), rho = 7"),
  useExponentialSigmas: fixedOption(false, "exponential sigma spacing"),
  useBetaSigmas: fixedOption(false, "beta-distribution sigma spacing"),
};

/**
 * The noise levels of Karras et al. (2022): n levels from sigmaMax down to sigmaMin, uniform in
 * sigma^(1/rho) (diffusers `_convert_to_karras`).
 */
export function karrasLevels(sigmaMin: number, sigmaMax: number, n: number, rho = 7): number[] {
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return linspace(0, 1, n).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

export const unsupportedThresholdOptions = {
  thresholding: fixedOption(false, "dynamic thresholding"),
  dynamicThresholdingRatio: option.number(0.995, "dynamic thresholding quantile (unused)", {
    min: 0,
    max: 1,
  }),
  sampleMaxValue: option.number(1, "dynamic thresholding ceiling (unused)", { min: 0 }),
};

export const unsupportedFlowOptions = {
  useFlowSigmas: fixedOption(false, "flow-matching sigmas"),
  flowShift: option.number(1, "flow-matching shift (unused)"),
  useDynamicShifting: fixedOption(false, "dynamic shifting"),
  timeShiftType: option.oneOf(["exponential", "linear"], "exponential", "time shift type (unused)"),
};

/** Scratch arrays of a run, numbered from `first` in its arena (sized like the state). */
export class Buffers {
  constructor(
    private readonly arena: Arena,
    private readonly first = 0,
  ) {}

  /** The k-th scratch array, shaped like x. */
  get(k: number, x: FloatArray): FloatArray {
    return this.arena.array(this.first + k, x);
  }
}

/**
 * The last `size` converted model outputs in arena arrays that rotate (no allocation per step).
 * `advance` hands out the slot for the newest; `at(1)` is the newest, `at(2)` the one before.
 */
export class History {
  private count = 0;
  private head = 0;
  private like: FloatArray | undefined;

  /** Uses arena arrays first .. first + size - 1. */
  constructor(
    private readonly size: number,
    private readonly arena: Arena,
    private readonly first = 0,
  ) {}

  /** Number of stored outputs (at most size). */
  get length(): number {
    return this.count;
  }

  /**
   * Makes the oldest slot (shaped like `like`) the newest entry and returns it for the caller to
   * fill: the update loops write the converted model output there directly.
   */
  advance(like: FloatArray): FloatArray {
    this.head = (this.head + 1) % this.size;
    this.like = like;
    this.count = Math.min(this.count + 1, this.size);
    return this.arena.array(this.first + this.head, like);
  }

  /** The k-th newest entry (k = 1 is the newest). */
  at(k: number): FloatArray {
    if (k < 1 || k > this.count) throw new RangeError(`history has ${this.count} entries, asked for #${k}`);
    return this.arena.array(this.first + ((this.head - (k - 1) + this.size) % this.size), this.like!);
  }
}

const pick = new Float64Array(2);

/**
 * min(max(e, lo), hi) exactly as the kernels compute it (`m = e < lo ? lo : e`, then
 * `hi < m ? hi : m`), without branches: when clipping is frequent and unpredictable a
 * compare-and-branch mispredicts, and V8 compiles Math.min / Math.max to branches (3x slower here).
 */
export function clamp(e: number, lo: number, hi: number): number {
  pick[0] = e;
  pick[1] = lo;
  const m = pick[Number(e < lo)]!;
  pick[0] = m;
  pick[1] = hi;
  return pick[Number(hi < m)]!;
}

/** VP scales of a VE level (diffusers `_sigma_to_alpha_sigma_t`). */
export function alphaSigma(level: number): [number, number] {
  const alpha = 1 / (level * level + 1) ** 0.5;
  return [alpha, level * alpha];
}

/** lambda = log(alpha) - log(sigma) of a VE level. */
export function lambdaOf(level: number): number {
  const [a, s] = alphaSigma(level);
  return Math.log(a) - Math.log(s);
}

/**
 * Karras levels over the whole training range of a VP schedule, each paired with the nearest
 * integer timestep (diffusers' DPM-Solver / DEIS / UniPC with useKarrasSigmas): the solver steps
 * between the Karras levels, the model is called at the rounded timesteps.
 */
export function vpKarrasPlan(
  schedule: NoiseSchedule,
  steps: number,
): { timesteps: number[]; levels: number[] } {
  const T = schedule.numTrainTimesteps;
  const levels = karrasLevels(schedule.sigmas[0]!, schedule.sigmas[T - 1]!, steps);
  return { timesteps: levels.map((s) => roundHalfEven(schedule.timestepOfSigma(s))), levels };
}

// The sampler plugin API. A plugin describes a family of samplers (name, aliases, options with
// defaults); bound to a noise schedule and a config it becomes a Sampler, which builds a plan for a
// step count (the timesteps the model is called at) and returns a SamplerRun that performs the
// steps. Runs hold all per-run state and buffers, so one Sampler can serve many runs.
import type { PredictionType } from "./denoiser.js";
import type { ConfigOf, OptionSpecs } from "./options.js";
import { resolveOptions } from "./options.js";
import type { NoiseSource } from "./rng.js";
import type { NoiseSchedule } from "./schedule.js";
import type { FloatArray } from "./tensor.js";
import { emptyLike } from "./tensor.js";

/** How a sampler carries its state: VP (`x = alpha x0 + sigma eps`) or VE (`x = x0 + s eps`). */
export type StateSpace = "VP" | "VE";

/** Where to start a plan: the whole plan (default) or truncated to begin at a noise level. */
export interface PlanOptions {
  /**
   * Start at this training timestep instead of the top of the plan: the run begins at the first
   * plan step whose timestep is <= startAt (diffusers img2img: `timesteps[t_start_index:]`).
   */
  startAt?: number;
  /** Shorthand for `startAt = round(strength * (T - 1))`, strength in (0, 1]. */
  strength?: number;
}

/** The part of a plan a plugin computes; {@link SamplerRun} adds the stepping bookkeeping. */
export interface PlanData {
  /** Model call times in training units, one per model call (possibly fractional). */
  timesteps: readonly number[];
  /**
   * VE noise level of the state before each model call, plus one final entry: the level of the
   * returned sample. Length timesteps.length + 1.
   */
  levels: readonly number[];
  /** Scale of pure-noise initial samples (1 for VP samplers, ~sigma_max for VE ones). */
  initNoiseSigma: number;
  /** Indices of plan entries where a run may begin (defaults to all). */
  startIndices?: readonly number[];
}

/** A plugin: one sampler family, registered by name and aliases. */
export interface SamplerPlugin<S extends OptionSpecs = OptionSpecs> {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly description: string;
  readonly options: S;
  readonly space: StateSpace;
  /** Convergence order of the configured sampler (e.g. its solverOrder). */
  order(config: ConfigOf<S>): number;
  /** Whether runs draw noise (then `step` needs a NoiseSource). */
  stochastic(config: ConfigOf<S>): boolean;
  /** Rejects option combinations that are individually valid but not together (throws RangeError). */
  validate?(config: ConfigOf<S>): void;
  /** Builds the timestep plan for a step count. */
  plan(schedule: NoiseSchedule, config: ConfigOf<S>, steps: number): PlanData;
  /** Creates the stepping state of one run over a plan, beginning at plan entry `begin`. */
  start(schedule: NoiseSchedule, config: ConfigOf<S>, plan: PlanData, begin: number): SamplerStepper;
}

/** What a plugin implements per run: one update of `x` in place from the model output at entry i. */
export interface SamplerStepper {
  /**
   * Model input for entry i: write into out and return it, return x itself when unscaled, or
   * return an array of the run's own that stays unchanged until the next step.
   */
  scaleModelInput?(x: FloatArray, i: number, out: FloatArray): FloatArray;
  step(modelOutput: FloatArray, x: FloatArray, i: number, noise: NoiseSource | undefined): void;
  /**
   * Optional fusion of `step` with the next `scaleModelInput`: performs step i and returns the
   * model input of entry i + 1, exactly as `scaleModelInput(x, i + 1, out)` would after the step,
   * in the same pass over the state. Only called when entry i + 1 exists.
   */
  stepScaled?(
    modelOutput: FloatArray,
    x: FloatArray,
    i: number,
    noise: NoiseSource | undefined,
    out: FloatArray,
  ): FloatArray;
  /**
   * Called once, after the last step of the plan: the run's buffers are no longer needed (a
   * plugin may hand them to later runs).
   */
  release?(): void;
}

/**
 * A sampler bound to a schedule and a validated config.
 *
 * @example
 * ```ts
 * import { NoiseSchedule, createSampler } from "@fccf/core";
 * import "@fccf/samplers"; // registers the built-in samplers
 * const schedule = NoiseSchedule.fromConfig({ betaSchedule: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012 });
 * const sampler = createSampler("dpm++2m", schedule, { predictionType: "sample" });
 * const run = sampler.plan(20, { strength: 0.5 });
 * const x = new Float32Array(16);
 * run.addNoise(new Float32Array(16), new Float32Array(16).fill(0.1), x);
 * while (!run.done) {
 *   const input = run.scaleModelInput(x);
 *   const x0 = new Float32Array(16); // model(input, run.timestep) in the configured parameterisation
 *   run.step(x0, x);
 * }
 * ```
 */
export class Sampler<S extends OptionSpecs = OptionSpecs> {
  readonly config: Readonly<ConfigOf<S>>;

  constructor(
    readonly plugin: SamplerPlugin<S>,
    readonly schedule: NoiseSchedule,
    config: Readonly<Record<string, unknown>> = {},
  ) {
    const resolved = resolveOptions(plugin.name, plugin.options, config);
    plugin.validate?.(resolved);
    this.config = Object.freeze(resolved);
  }

  get name(): string {
    return this.plugin.name;
  }
  get order(): number {
    return this.plugin.order(this.config as ConfigOf<S>);
  }
  get stochastic(): boolean {
    return this.plugin.stochastic(this.config as ConfigOf<S>);
  }
  get space(): StateSpace {
    return this.plugin.space;
  }
  get prediction(): PredictionType {
    return (
      ((this.config as Record<string, unknown>).predictionType as PredictionType | undefined) ?? "epsilon"
    );
  }

  /** Builds a run of `steps` steps (optionally truncated to start at a noise level). */
  plan(steps: number, options: PlanOptions = {}): SamplerRun {
    if (!Number.isInteger(steps) || steps < 1) {
      throw new RangeError(`steps must be a positive integer, got ${steps}`);
    }
    const config = this.config as ConfigOf<S>;
    const data = this.plugin.plan(this.schedule, config, steps);
    const begin = beginIndex(this.plugin.name, data, options, this.schedule.numTrainTimesteps);
    const stepper = this.plugin.start(this.schedule, config, data, begin);
    return new SamplerRun(this, data, begin, stepper);
  }
}

function beginIndex(name: string, data: PlanData, options: PlanOptions, T: number): number {
  let startAt = options.startAt;
  if (options.strength !== undefined) {
    if (startAt !== undefined) throw new RangeError("give either startAt or strength, not both");
    const s = options.strength;
    if (!(s > 0 && s <= 1)) throw new RangeError(`strength must be in (0, 1], got ${s}`);
    startAt = Math.round(s * (T - 1));
  }
  if (startAt === undefined) return 0;
  if (!Number.isFinite(startAt) || startAt < 0)
    throw new RangeError(`startAt must be a timestep >= 0, got ${startAt}`);
  const starts = data.startIndices ?? data.timesteps.map((_, i) => i);
  for (const i of starts) if (data.timesteps[i]! <= startAt + 1e-9) return i;
  if (starts.length === 1) {
    throw new RangeError(
      `sampler '${name}' runs only from the top of its plan (t = ${data.timesteps[starts[0]!]}), not from startAt ${startAt}`,
    );
  }
  throw new RangeError(
    `sampler '${name}': startAt ${startAt} is below the lowest timestep a run can start from ` +
      `(${data.timesteps[starts.at(-1)!]}); use more steps or a higher strength`,
  );
}

/**
 * One pass of a sampler over its plan. Call `scaleModelInput`, the model at `timestep`, then `step`,
 * until `done`. `step` updates the state array in place.
 */
export class SamplerRun {
  /** Index of the next plan entry to run. */
  private index: number;
  private scratch: FloatArray | undefined;
  private size = -1;
  private kind: string | undefined;

  constructor(
    readonly sampler: Sampler,
    private readonly data: PlanData,
    /** Plan entry the run began at (0 unless truncated). */
    readonly begin: number,
    private readonly stepper: SamplerStepper,
  ) {
    this.index = begin;
  }

  /** All model call times of the full plan (training units). */
  get timesteps(): readonly number[] {
    return this.data.timesteps;
  }
  /** VE noise levels of the full plan: before each entry, then the final level. */
  get levels(): readonly number[] {
    return this.data.levels;
  }
  /** Scale of a pure-noise initial sample for an untruncated run. */
  get initNoiseSigma(): number {
    return this.data.initNoiseSigma;
  }
  /** Index of the next entry. */
  get stepIndex(): number {
    return this.index;
  }
  get done(): boolean {
    return this.index >= this.data.timesteps.length;
  }
  /** Model calls this run makes in total (from its begin entry). */
  get modelCalls(): number {
    return this.data.timesteps.length - this.begin;
  }
  /** The time the model must be called at for the next step. */
  get timestep(): number {
    this.ensureNotDone();
    return this.data.timesteps[this.index]!;
  }
  /** VE noise level of the state at the start of the run. */
  get startLevel(): number {
    return this.data.levels[this.begin]!;
  }
  /** VE noise level of the sample the run returns. */
  get finalLevel(): number {
    return this.data.levels[this.data.levels.length - 1]!;
  }

  /**
   * The initial sample of the run from clean data x0 and unit noise eps (diffusers `add_noise` at
   * the run's first level): VP `alpha x0 + sigma eps`, VE `x0 + s eps`. For untruncated runs from
   * pure noise, use `eps * initNoiseSigma` instead.
   */
  addNoise(x0: FloatArray, eps: FloatArray, out: FloatArray): FloatArray {
    if (x0.length !== eps.length || out.length !== x0.length)
      throw new RangeError("addNoise: array lengths differ");
    const s = this.startLevel;
    let a = 1;
    let b = s;
    if (this.sampler.space === "VP") {
      a = 1 / (s * s + 1) ** 0.5;
      b = s * a;
    }
    for (let i = 0; i < out.length; i++) out[i] = a * x0[i]! + b * eps[i]!;
    return out;
  }

  /**
   * The model input for the next step: x itself when the sampler does not scale it, else a buffer
   * of the run that the next step or call overwrites (valid until the run is complete).
   */
  scaleModelInput(x: FloatArray): FloatArray {
    this.ensureNotDone();
    if (!this.stepper.scaleModelInput) return x;
    this.checkState(x);
    this.scratch ??= emptyLike(x);
    return this.stepper.scaleModelInput(x, this.index, this.scratch);
  }

  /** Advances `x` in place by one plan entry, given the model output at {@link timestep}. */
  step(modelOutput: FloatArray, x: FloatArray, noise?: NoiseSource): void {
    this.checkStep(modelOutput, x, noise);
    this.stepper.step(modelOutput, x, this.index, noise);
    this.advance();
  }

  /**
   * `step`, then the model input for the next step (what {@link scaleModelInput} would return), or
   * undefined when the run is complete. Samplers that scale their input (the VE ones) produce it in
   * the same pass as the update, saving a pass over the state per step. Use it when nothing changes
   * `x` between the step and the next model call, as in {@link runSampling}:
   *
   * @example
   * ```ts
   * let input = run.scaleModelInput(x);
   * for (;;) {
   *   const out = model(input, run.timestep);
   *   const next = run.stepAndScale(out, x, noise);
   *   if (!next) break;
   *   input = next;
   * }
   * ```
   */
  stepAndScale(modelOutput: FloatArray, x: FloatArray, noise?: NoiseSource): FloatArray | undefined {
    const fused = this.stepper.stepScaled;
    if (!fused || this.index + 1 >= this.data.timesteps.length) {
      this.step(modelOutput, x, noise);
      return this.done ? undefined : this.scaleModelInput(x);
    }
    this.checkStep(modelOutput, x, noise);
    this.scratch ??= emptyLike(x);
    const input = fused.call(this.stepper, modelOutput, x, this.index, noise, this.scratch);
    this.advance();
    return input;
  }

  private checkStep(modelOutput: FloatArray, x: FloatArray, noise: NoiseSource | undefined): void {
    this.ensureNotDone();
    this.checkState(x);
    if (modelOutput.length !== x.length) {
      throw new RangeError(`model output has ${modelOutput.length} values, the state has ${x.length}`);
    }
    if (this.sampler.stochastic && !noise) {
      throw new TypeError(`sampler '${this.sampler.name}' is stochastic: pass a NoiseSource to step()`);
    }
  }

  private advance(): void {
    this.index++;
    if (this.done) this.stepper.release?.();
  }

  private ensureNotDone(): void {
    if (this.done) throw new RangeError(`sampler '${this.sampler.name}': the run is complete`);
  }

  private checkState(x: FloatArray): void {
    const kind = x.constructor.name;
    if (this.size < 0) {
      this.size = x.length;
      this.kind = kind;
    } else if (x.length !== this.size || kind !== this.kind) {
      throw new RangeError(
        `the state changed size or type during the run (${this.kind}[${this.size}] -> ${kind}[${x.length}])`,
      );
    }
  }
}

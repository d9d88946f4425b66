import { interpOnGrid, sigmaToTimestep, torchLinspace } from "./numeric.js";

/** The named beta schedules (diffusers names). */
export type BetaSchedule = "linear" | "scaled_linear" | "squaredcos_cap_v2";

/** How a training noise schedule is defined. Defaults: 1000 steps, linear 1e-4 .. 0.02. */
export interface ScheduleConfig {
  betaSchedule?: BetaSchedule;
  betaStart?: number;
  betaEnd?: number;
  numTrainTimesteps?: number;
  /** Explicit betas; overrides betaSchedule/betaStart/betaEnd. */
  trainedBetas?: ArrayLike<number> | null;
}

const BETA_SCHEDULES: readonly BetaSchedule[] = ["linear", "scaled_linear", "squaredcos_cap_v2"];

/**
 * A discrete variance-preserving noise schedule: `x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps` for
 * t = 0..T-1, and its continuous extension to fractional t. Between integer t the VE noise level
 * `sigma = sqrt((1-abar)/abar)` is interpolated linearly (as diffusers' `np.interp` over its sigma
 * table), and alpha, the VP sigma and lambda follow from it.
 *
 * @example
 * ```ts
 * import { NoiseSchedule } from "@fccf/core";
 * const s = NoiseSchedule.fromConfig({ betaSchedule: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012 });
 * s.alphasCumprod[999]; // 0.0046...
 * s.sigmaAt(499.5);     // VE sigma between t = 499 and t = 500
 * ```
 */
export class NoiseSchedule {
  /** Cumulative products of (1 - beta), float64, index t = 0..T-1. */
  readonly alphasCumprod: Float64Array;
  /** VE noise level per integer timestep: sqrt((1 - abar) / abar). Increasing in t. */
  readonly sigmas: Float64Array;
  /** log of {@link sigmas}. */
  readonly logSigmas: Float64Array;
  /** The betas the schedule was built from (recomputed from abar when built from a table). */
  readonly betas: Float64Array;

  private constructor(alphasCumprod: Float64Array, betas: Float64Array) {
    for (let i = 0; i < alphasCumprod.length; i++) {
      const a = alphasCumprod[i]!;
      if (!(a > 0 && a <= 1)) throw new RangeError(`alphas_cumprod[${i}] = ${a} is outside (0, 1]`);
    }
    this.alphasCumprod = alphasCumprod;
    this.betas = betas;
    this.sigmas = alphasCumprod.map((a) => Math.sqrt((1 - a) / a));
    this.logSigmas = this.sigmas.map(Math.log);
  }

  /** Builds a schedule from a diffusers-style config (float64 throughout). */
  static fromConfig(config: ScheduleConfig = {}): NoiseSchedule {
    const T = config.numTrainTimesteps ?? 1000;
    if (!Number.isInteger(T) || T < 2)
      throw new RangeError(`numTrainTimesteps must be an integer >= 2, got ${T}`);
    let betas: Float64Array;
    if (config.trainedBetas != null) {
      betas = Float64Array.from(config.trainedBetas);
      if (betas.length !== T) {
        throw new RangeError(`trainedBetas has ${betas.length} values but numTrainTimesteps is ${T}`);
      }
    } else {
      const kind = config.betaSchedule ?? "linear";
      if (!BETA_SCHEDULES.includes(kind)) {
        throw new RangeError(`unknown beta schedule '${kind}' (known: ${BETA_SCHEDULES.join(", ")})`);
      }
      const start = config.betaStart ?? 0.0001;
      const end = config.betaEnd ?? 0.02;
      if (kind === "linear") betas = torchLinspace(start, end, T);
      else if (kind === "scaled_linear")
        betas = torchLinspace(start ** 0.5, end ** 0.5, T).map((b) => b ** 2);
      else betas = cosineBetas(T);
    }
    for (let i = 0; i < T; i++) {
      const b = betas[i]!;
      if (!(b >= 0 && b < 1)) throw new RangeError(`beta[${i}] = ${b} is outside [0, 1)`);
    }
    const ac = new Float64Array(T);
    let prod = 1;
    for (let i = 0; i < T; i++) {
      prod *= 1 - betas[i]!;
      ac[i] = prod;
    }
    return new NoiseSchedule(ac, betas);
  }

  /** Wraps an existing alphas_cumprod table (e.g. one shipped in a model card). */
  static fromAlphasCumprod(table: ArrayLike<number>): NoiseSchedule {
    const ac = Float64Array.from(table);
    if (ac.length < 2) throw new RangeError("an alphas_cumprod table needs at least 2 entries");
    const betas = ac.map((a, i) => 1 - (i === 0 ? a : a / ac[i - 1]!));
    return new NoiseSchedule(ac, betas);
  }

  /** Number of training timesteps T. */
  get numTrainTimesteps(): number {
    return this.alphasCumprod.length;
  }

  /** VE sigma at a (possibly fractional) timestep, interpolated linearly in t. */
  sigmaAt(t: number): number {
    return interpOnGrid(t, this.sigmas);
  }

  /** alphas_cumprod at a (possibly fractional) timestep: 1 / (1 + sigma(t)^2). */
  alphaCumprodAt(t: number): number {
    if (Number.isInteger(t) && t >= 0 && t < this.alphasCumprod.length) return this.alphasCumprod[t]!;
    const s = this.sigmaAt(t);
    return 1 / (1 + s * s);
  }

  /** VP signal scale alpha_t = sqrt(abar_t). */
  alphaAt(t: number): number {
    return Math.sqrt(this.alphaCumprodAt(t));
  }

  /** VP noise scale sigma_t = sqrt(1 - abar_t). */
  vpSigmaAt(t: number): number {
    return Math.sqrt(1 - this.alphaCumprodAt(t));
  }

  /** Half log-SNR lambda_t = log(alpha_t) - log(sigma_t). */
  lambdaAt(t: number): number {
    return Math.log(this.alphaAt(t)) - Math.log(this.vpSigmaAt(t));
  }

  /** The fractional timestep of a VE noise level (log-sigma interpolation, diffusers `_sigma_to_t`). */
  timestepOfSigma(sigma: number): number {
    return sigmaToTimestep(sigma, this.logSigmas);
  }
}

/** alpha_t and sigma_t (VP scales) of a VE noise level: alpha = 1/sqrt(1+s^2), sigma = s*alpha. */
export function vpScales(veSigma: number): { alpha: number; sigma: number } {
  const alpha = 1 / (veSigma * veSigma + 1) ** 0.5;
  return { alpha, sigma: veSigma * alpha };
}

// Glide's squared-cosine schedule (alpha_bar(t) = cos^2((t + 0.008)/1.008 * pi/2)), betas capped at 0.999.
function cosineBetas(T: number): Float64Array {
  const alphaBar = (t: number) => Math.cos((((t + 0.008) / 1.008) * Math.PI) / 2) ** 2;
  const betas = new Float64Array(T);
  for (let i = 0; i < T; i++) betas[i] = Math.min(1 - alphaBar((i + 1) / T) / alphaBar(i / T), 0.999);
  return betas;
}

// The analytic Gaussian model of the reference fixtures: data x0[i] ~ N(mu[i], s^2) elementwise, so
// the exact denoiser and the exact probability-flow ODE solution are known in closed form. Used by
// the conformance check, the convergence test, `fccf sample` and the benchmark.
import type { Denoiser, FloatArray, PredictionType, Tensor } from "@fccf/core";
import { interpOnGrid } from "@fccf/core";

/** mu[i] = 0.8 sin(0.7 i + 0.3), the fixtures' per-element data mean. */
export function fixtureMean(n: number): Float64Array {
  const mu = new Float64Array(n);
  for (let i = 0; i < n; i++) mu[i] = 0.8 * Math.sin(0.7 * i + 0.3);
  return mu;
}

/**
 * The exact model of a Gaussian data distribution N(mu, s^2) under a VP schedule given by its VE
 * sigma table (sigma at fractional t is interpolated linearly, as numpy.interp).
 *
 * @example
 * ```ts
 * import { NoiseSchedule } from "@fccf/core";
 * import { GaussianModel, fixtureMean } from "@fccf/samplers";
 * const model = new GaussianModel(NoiseSchedule.fromConfig().sigmas, fixtureMean(24), 0.5, "epsilon");
 * const eps = model.evaluate(new Float64Array(24), 500);
 * ```
 */
export class GaussianModel implements Denoiser {
  /** The sigma the last call used (the fixtures record it). */
  lastSigma = Number.NaN;

  constructor(
    private readonly sigmaTable: ArrayLike<number>,
    readonly mu: Float64Array,
    readonly s: number,
    readonly prediction: PredictionType,
  ) {}

  /** Model output at model input x (VP variables) and time t. */
  evaluate(x: ArrayLike<number>, t: number, out: FloatArray = new Float64Array(x.length)): FloatArray {
    if (x.length !== this.mu.length)
      throw new RangeError(`model input has ${x.length} values, expected ${this.mu.length}`);
    const sigma = interpOnGrid(t, this.sigmaTable);
    this.lastSigma = sigma;
    const a = 1 / (1 + sigma * sigma);
    const s2 = this.s * this.s;
    const d = a * s2 + 1 - a;
    const sa = Math.sqrt(a);
    const s1a = Math.sqrt(1 - a);
    for (let i = 0; i < x.length; i++) {
      const r = (x[i]! - sa * this.mu[i]!) / d;
      const eps = s1a * r;
      const x0 = this.mu[i]! + sa * s2 * r;
      out[i] = this.prediction === "epsilon" ? eps : this.prediction === "sample" ? x0 : sa * eps - s1a * x0;
    }
    return out;
  }

  predict(input: Tensor, t: number): FloatArray {
    const out =
      input.data instanceof Float32Array
        ? new Float32Array(input.data.length)
        : new Float64Array(input.data.length);
    return this.evaluate(input.data, t, out);
  }
}

/**
 * The exact PF-ODE map of a state from VE level sigmaStart to sigmaEnd for the Gaussian model:
 * in VE variables y - mu scales by sqrt(s^2 + sigma^2); VP states carry y / sqrt(1 + sigma^2).
 */
export function exactPfOde(
  x: ArrayLike<number>,
  mu: ArrayLike<number>,
  s: number,
  sigmaStart: number,
  sigmaEnd: number,
  space: "VP" | "VE",
): Float64Array {
  const out = new Float64Array(x.length);
  const ratio = Math.sqrt(s * s + sigmaEnd * sigmaEnd) / Math.sqrt(s * s + sigmaStart * sigmaStart);
  const inScale = space === "VP" ? Math.sqrt(1 + sigmaStart * sigmaStart) : 1;
  const outScale = space === "VP" ? 1 / Math.sqrt(1 + sigmaEnd * sigmaEnd) : 1;
  for (let i = 0; i < x.length; i++) {
    const y = x[i]! * inScale;
    out[i] = (mu[i]! + (y - mu[i]!) * ratio) * outScale;
  }
  return out;
}

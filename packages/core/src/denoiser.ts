// The Denoiser contract: a model maps (x_t, t) to one of three equivalent parameterisations of the
// clean signal. With VP scales alpha_t, sigma_t (x_t = alpha x0 + sigma eps, alpha^2 + sigma^2 = 1):
//   epsilon:      eps
//   sample:       x0
//   v_prediction: v = alpha eps - sigma x0
// Samplers convert whatever the model gives into what their update rule needs.
import type { FloatArray, Tensor } from "./tensor.js";

/** What a model predicts (diffusers names). */
export type PredictionType = "epsilon" | "sample" | "v_prediction";

export const PREDICTION_TYPES: readonly PredictionType[] = ["epsilon", "sample", "v_prediction"];

/**
 * A denoising model as the samplers see it: given the (already scaled) model input and the time in
 * training units (possibly fractional), it returns its prediction, parameterised as `prediction`.
 *
 * @example
 * ```ts
 * import type { Denoiser } from "@fccf/core";
 * const zeroNoise: Denoiser = { prediction: "epsilon", predict: (x) => new Float64Array(x.data.length) };
 * ```
 */
export interface Denoiser {
  readonly prediction: PredictionType;
  predict(input: Tensor, t: number): FloatArray | Promise<FloatArray>;
}

/** Parses a prediction type name, accepting the short forms eps, x0 and v. */
export function parsePrediction(name: string): PredictionType {
  const key = name.trim().toLowerCase();
  if (key === "eps" || key === "epsilon") return "epsilon";
  if (key === "x0" || key === "sample") return "sample";
  if (key === "v" || key === "v_prediction") return "v_prediction";
  throw new RangeError(`unknown prediction type '${name}' (use epsilon|eps, sample|x0 or v_prediction|v)`);
}

/** out = x0 estimate from a model output, at VP scales (alpha, sigma). `out` may alias `output`. */
export function predictionToX0(
  prediction: PredictionType,
  output: FloatArray,
  x: FloatArray,
  alpha: number,
  sigma: number,
  out: FloatArray,
): FloatArray {
  const n = out.length;
  if (prediction === "epsilon") for (let i = 0; i < n; i++) out[i] = (x[i]! - sigma * output[i]!) / alpha;
  else if (prediction === "sample") {
    if (out !== output) out.set(output);
  } else for (let i = 0; i < n; i++) out[i] = alpha * x[i]! - sigma * output[i]!;
  return out;
}

/** out = eps estimate from a model output, at VP scales (alpha, sigma). `out` may alias `output`. */
export function predictionToEpsilon(
  prediction: PredictionType,
  output: FloatArray,
  x: FloatArray,
  alpha: number,
  sigma: number,
  out: FloatArray,
): FloatArray {
  const n = out.length;
  if (prediction === "epsilon") {
    if (out !== output) out.set(output);
  } else if (prediction === "sample")
    for (let i = 0; i < n; i++) out[i] = (x[i]! - alpha * output[i]!) / sigma;
  else for (let i = 0; i < n; i++) out[i] = alpha * output[i]! + sigma * x[i]!;
  return out;
}

/**
 * out = the model output parameterised as `prediction`, from an x0 and an eps estimate (what an
 * analytic or wrapped model needs to answer in the parameterisation a sampler was configured for).
 */
export function predictionFrom(
  prediction: PredictionType,
  x0: ArrayLike<number>,
  eps: ArrayLike<number>,
  alpha: number,
  sigma: number,
  out: FloatArray,
): FloatArray {
  const n = out.length;
  if (prediction === "epsilon") for (let i = 0; i < n; i++) out[i] = eps[i]!;
  else if (prediction === "sample") for (let i = 0; i < n; i++) out[i] = x0[i]!;
  else for (let i = 0; i < n; i++) out[i] = alpha * eps[i]! - sigma * x0[i]!;
  return out;
}

/**
 * x0 estimate in VE variables (x = x0 + s*eps, model input x/sqrt(1+s^2)), as the Karras-style
 * samplers (Euler, Heun, KDPM2, LMS) compute it: out = D(x; s). `out` may alias `output`.
 */
export function vePredictionToX0(
  prediction: PredictionType,
  output: FloatArray,
  x: FloatArray,
  s: number,
  out: FloatArray,
): FloatArray {
  const n = out.length;
  if (prediction === "epsilon") for (let i = 0; i < n; i++) out[i] = x[i]! - s * output[i]!;
  else if (prediction === "sample") {
    if (out !== output) out.set(output);
  } else {
    const c = -s / (s * s + 1) ** 0.5;
    const d = s * s + 1;
    for (let i = 0; i < n; i++) out[i] = output[i]! * c + x[i]! / d;
  }
  return out;
}

/**
 * A conversion of a model output written as `(px * x + po * output) * q`, so samplers can fuse it
 * into their update loops (one pass over memory per step). `to` is the wanted quantity: the x0
 * estimate or the eps estimate at VP scales (alpha, sigma), or the x0 estimate of a VE state at
 * level `sigma` (`alpha` ignored).
 */
export interface LinearConversion {
  px: number;
  po: number;
  q: number;
}

export function conversion(
  prediction: PredictionType,
  to: "x0" | "eps" | "ve-x0",
  alpha: number,
  sigma: number,
): LinearConversion {
  if (to === "x0") {
    if (prediction === "epsilon") return { px: 1, po: -sigma, q: 1 / alpha };
    if (prediction === "sample") return { px: 0, po: 1, q: 1 };
    return { px: alpha, po: -sigma, q: 1 };
  }
  if (to === "eps") {
    if (prediction === "epsilon") return { px: 0, po: 1, q: 1 };
    if (prediction === "sample") return { px: 1, po: -alpha, q: 1 / sigma };
    return { px: sigma, po: alpha, q: 1 };
  }
  if (prediction === "epsilon") return { px: 1, po: -sigma, q: 1 };
  if (prediction === "sample") return { px: 0, po: 1, q: 1 };
  return { px: 1 / (sigma * sigma + 1), po: -sigma / (sigma * sigma + 1) ** 0.5, q: 1 };
}

import type { Denoiser } from "./denoiser.js";
import type { NoiseSource } from "./rng.js";
import type { SamplerRun } from "./sampler.js";
import type { FloatArray } from "./tensor.js";

/** Progress of a sampling loop, reported after every model call. */
export interface SamplingProgress {
  /** Model calls done so far in this run. */
  call: number;
  /** Model calls of the whole run. */
  calls: number;
  /** The time the model was just called at. */
  t: number;
}

/**
 * Runs a sampler over its remaining plan with a denoiser, updating `x` in place (the diffusers
 * pipeline loop: scale the input, call the model, step).
 *
 * @example
 * ```ts
 * import { NoiseSchedule, SeededNoise, createSampler, runSampling } from "@fccf/core";
 * import "@fccf/samplers";
 * const run = createSampler("euler", NoiseSchedule.fromConfig()).plan(10);
 * const x = new Float32Array(8);
 * new SeededNoise(1).fill(x);
 * for (let i = 0; i < x.length; i++) x[i]! *= run.initNoiseSigma;
 * await runSampling(run, { prediction: "epsilon", predict: (inp) => new Float32Array(inp.data.length) }, x, [1, 8]);
 * ```
 */
export async function runSampling(
  run: SamplerRun,
  denoiser: Denoiser,
  x: FloatArray,
  dims: readonly number[],
  options: { noise?: NoiseSource; onProgress?: (p: SamplingProgress) => void } = {},
): Promise<FloatArray> {
  if (denoiser.prediction !== run.sampler.prediction) {
    throw new RangeError(
      `the model predicts '${denoiser.prediction}' but sampler '${run.sampler.name}' is configured for ` +
        `'${run.sampler.prediction}' (set its predictionType)`,
    );
  }
  const calls = run.modelCalls;
  let call = 0;
  // The step also produces the next model input (one pass over the state instead of two).
  let input = run.done ? undefined : run.scaleModelInput(x);
  while (input) {
    const t = run.timestep;
    const out = await denoiser.predict({ data: input, dims }, t);
    input = run.stepAndScale(out, x, options.noise);
    call++;
    options.onProgress?.({ call, calls, t });
  }
  return x;
}

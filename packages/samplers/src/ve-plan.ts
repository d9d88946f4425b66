// Plans of the Karras-style (VE) samplers: float timesteps, sigmas interpolated in t, a final 0.
import type { FloatArray, NoiseSchedule, NoiseSource } from "@fccf/core";
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

/** The factor of the model input at VE level s: 1 / sqrt(s^2 + 1). */
function veInputScale(s: number): number {
  return 1 / (s * s + 1) ** 0.5;
}

/**
 * Model input of a VE state at level s: x / sqrt(s^2 + 1) (the VP state the network was trained
 * on), written into `out` (the run's own input array, kept in its arena).
 */
function scaleVeInput(x: FloatArray, s: number, out: FloatArray, arena: Arena): FloatArray {
  const k = veInputScale(s);
  if (arena.run(SCALE, [x, out], [k])) return out;
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * k;
  return out;
}

/**
 * A VE update kernel and its twin that also writes the next model input, `inp = x * ks`, from the
 * stored (rounded) x: the same values as a separate {@link scaleVeInput} pass, without a second pass.
 */
export class VeKernel {
  private readonly plain: Kernel;
  private readonly fused: Kernel;

  constructor(arrays: string, scalars: string, body: string) {
    this.plain = new Kernel(arrays, scalars, body);
    this.fused = new Kernel(`${arrays} inp`, `${scalars} ks`, `${body} inp = x * ks;`);
  }

  /** Runs the update (and writes inp when given); false when the JavaScript loop must run instead. */
  run(
    arena: Arena,
    arrays: FloatArray[],
    scalars: number[],
    inp: FloatArray | undefined,
    ks: number | undefined,
  ): boolean {
    if (!inp) return arena.run(this.plain, arrays, scalars);
    return arena.run(this.fused, [...arrays, inp], [...scalars, ks!]);
  }
}

/**
 * One VE update: updates x in place for plan entry i; given `inp`, may also write the next model
 * input (factor ks) in the same pass, and returns whether it did.
 */
export type VeUpdate = (
  out: FloatArray,
  x: FloatArray,
  i: number,
  noise: NoiseSource | undefined,
  inp?: FloatArray,
  ks?: number,
) => boolean;

/**
 * The stepper of a VE sampler around its update: input scaling into arena array `inputKey`, and
 * the fused step + next input (a separate scaling pass when the update could not fuse it).
 */
export function veStepper(levels: readonly number[], arena: Arena, inputKey: number, update: VeUpdate) {
  return {
    scaleModelInput: (x: FloatArray, i: number) =>
      scaleVeInput(x, levels[i]!, arena.array(inputKey, x), arena),
    step(out: FloatArray, x: FloatArray, i: number, noise: NoiseSource | undefined) {
      update(out, x, i, noise);
    },
    stepScaled(out: FloatArray, x: FloatArray, i: number, noise: NoiseSource | undefined) {
      const inp = arena.array(inputKey, x);
      const next = levels[i + 1]!;
      if (!update(out, x, i, noise, inp, veInputScale(next))) scaleVeInput(x, next, inp, arena);
      return inp;
    },
    release: () => arena.release(),
  };
}

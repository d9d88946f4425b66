// DEIS (Zhang & Chen 2023), log-rho multistep variant, diffusers `DEISMultistepScheduler` semantics:
// the noise prediction is extrapolated by a Lagrange polynomial in log(rho), rho = sigma/alpha, and
// integrated exactly against d(rho).
import type { ConfigOf, FloatArray, NoiseSchedule, PlanData, SamplerPlugin } from "@fccf/core";
import { conversion, option } from "@fccf/core";
import {
  alphaSigma,
  fixedOption,
  History,
  predictionOption,
  sigmaSpacingOptions,
  spacingOption,
  stepsOffsetOption,
  unsupportedFlowOptions,
  unsupportedThresholdOptions,
  vpKarrasPlan,
} from "./common.js";
import { Arena, Kernel } from "./kernels/kernel.js";
import { solverTimesteps } from "./timesteps.js";

const options = {
  predictionType: predictionOption(),
  solverOrder: option.number(2, "solver order (1, 2 or 3)", { integer: true, min: 1, max: 3 }),
  algorithmType: fixedOption("deis", "DEIS algorithm"),
  solverType: fixedOption("logrho", "DEIS polynomial variable"),
  lowerOrderFinal: option.bool(true, "use lower orders for the last steps when steps < 15"),
  timestepSpacing: spacingOption("linspace"),
  stepsOffset: stepsOffsetOption(),
  ...sigmaSpacingOptions,
  ...unsupportedThresholdOptions,
  ...unsupportedFlowOptions,
};
type Config = ConfigOf<typeof options>;

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const T = schedule.numTrainTimesteps;
  if (c.useKarrasSigmas) {
    // diffusers repeats the last Karras level as the final one: the last step is the identity.
    const k = vpKarrasPlan(schedule, steps);
    return { timesteps: k.timesteps, levels: [...k.levels, k.levels.at(-1)!], initNoiseSigma: 1 };
  }
  const timesteps = solverTimesteps("deis", c.timestepSpacing, steps, T, c.stepsOffset);
  return {
    timesteps,
    levels: [...timesteps.map((t) => schedule.sigmas[t]!), schedule.sigmas[0]!],
    initNoiseSigma: 1,
  };
}

// Antiderivatives of the Lagrange basis polynomials in log(rho) (order 2 and 3 of DEIS).
function ind2(t: number, b: number, c: number): number {
  return (t * (-Math.log(c) + Math.log(t) - 1)) / (Math.log(b) - Math.log(c));
}
function ind3(t: number, b: number, c: number, d: number): number {
  const lt = Math.log(t);
  const lc = Math.log(c);
  const ld = Math.log(d);
  const num = t * (lc * (ld - lt + 1) - ld * lt + ld + lt ** 2 - 2 * lt + 2);
  return num / ((Math.log(b) - lc) * (Math.log(b) - ld));
}

function start(_schedule: NoiseSchedule, c: Config, p: PlanData) {
  const n = p.timesteps.length;
  const arena = new Arena(c.solverOrder);
  const history = new History(c.solverOrder, arena);
  let lowerOrderNums = 0;
  return {
    release: () => arena.release(),
    step(out: FloatArray, x: FloatArray, i: number) {
      const lowerFinal = i === n - 1 && c.lowerOrderFinal && n < 15;
      const lowerSecond = i === n - 2 && c.lowerOrderFinal && n < 15;
      let order = 3;
      if (c.solverOrder === 1 || lowerOrderNums < 1 || lowerFinal) order = 1;
      else if (c.solverOrder === 2 || lowerOrderNums < 2 || lowerSecond) order = 2;
      update(c, order, p.levels, i, history, arena, out, x);
      if (lowerOrderNums < c.solverOrder) lowerOrderNums++;
    },
  };
}

// The update loops below as WebAssembly kernels (kernels/kernel.ts), same expressions.
const EPS = "xv = x; m = (xv - alphaS0 * ((px * xv + po * out) * q)) * invS; m0 = m;";
const O1 = new Kernel("x out m0", "px po q alphaS0 invS a b", `${EPS} x = a * xv + b * m;`);
const MULTI = new Kernel(
  "x out m0 m1 m2",
  "px po q alphaS0 invS alphaT invA c1 c2 c3",
  `${EPS} x = alphaT * (xv * invA + c1 * m + c2 * m1 + c3 * m2);`,
);

/**
 * One update in a single pass. DEIS integrates eps, recomputed from the x0 estimate as diffusers
 * does (so every parameterisation works); it is stored as the newest history entry.
 */
function update(
  c: Config,
  order: number,
  levels: readonly number[],
  i: number,
  history: History,
  arena: Arena,
  out: FloatArray,
  x: FloatArray,
): void {
  const [alphaT, sigmaT] = alphaSigma(levels[i + 1]!);
  const [alphaS0, sigmaS0] = alphaSigma(levels[i]!);
  const { px, po, q } = conversion(c.predictionType, "x0", alphaS0, sigmaS0);
  const m0 = history.advance(x);
  const nx = x.length;
  // Reciprocals: a division per element costs more than the memory traffic of the loop.
  const invS = 1 / sigmaS0;
  const invA = 1 / alphaS0;
  if (order === 1) {
    const h = Math.log(alphaT) - Math.log(sigmaT) - (Math.log(alphaS0) - Math.log(sigmaS0));
    const a = alphaT / alphaS0;
    const b = -(sigmaT * (Math.exp(h) - 1));
    if (arena.run(O1, [x, out, m0], [px, po, q, alphaS0, invS, a, b])) return;
    for (let j = 0; j < nx; j++) {
      const xv = x[j]!;
      const m = (xv - alphaS0 * ((px * xv + po * out[j]!) * q)) * invS;
      m0[j] = m;
      x[j] = a * xv + b * m;
    }
    return;
  }
  const [alphaS1, sigmaS1] = alphaSigma(levels[i - 1]!);
  const rhoT = sigmaT / alphaT;
  const rhoS0 = sigmaS0 / alphaS0;
  const rhoS1 = sigmaS1 / alphaS1;
  const m1 = history.at(2);
  let c1: number;
  let c2: number;
  let c3 = 0;
  let m2 = m1;
  if (order === 2) {
    c1 = ind2(rhoT, rhoS0, rhoS1) - ind2(rhoS0, rhoS0, rhoS1);
    c2 = ind2(rhoT, rhoS1, rhoS0) - ind2(rhoS0, rhoS1, rhoS0);
  } else {
    const [alphaS2, sigmaS2] = alphaSigma(levels[i - 2]!);
    const rhoS2 = sigmaS2 / alphaS2;
    m2 = history.at(3);
    c1 = ind3(rhoT, rhoS0, rhoS1, rhoS2) - ind3(rhoS0, rhoS0, rhoS1, rhoS2);
    c2 = ind3(rhoT, rhoS1, rhoS2, rhoS0) - ind3(rhoS0, rhoS1, rhoS2, rhoS0);
    c3 = ind3(rhoT, rhoS2, rhoS0, rhoS1) - ind3(rhoS0, rhoS2, rhoS0, rhoS1);
  }
  if (arena.run(MULTI, [x, out, m0, m1, m2], [px, po, q, alphaS0, invS, alphaT, invA, c1, c2, c3])) return;
  for (let j = 0; j < nx; j++) {
    const xv = x[j]!;
    const m = (xv - alphaS0 * ((px * xv + po * out[j]!) * q)) * invS;
    m0[j] = m;
    x[j] = alphaT * (xv * invA + c1 * m + c2 * m1[j]! + c3 * m2[j]!);
  }
}

/** DEIS multistep (log-rho), orders 1-3. Alias: Deis. */
export const deis: SamplerPlugin<typeof options> = {
  name: "deis",
  aliases: ["Deis", "deis-multistep"],
  description: "DEIS multistep (log-rho polynomial extrapolation, orders 1-3)",
  options,
  space: "VP",
  order: (c) => c.solverOrder,
  stochastic: () => false,
  plan,
  start,
};

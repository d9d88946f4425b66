// Single-step DPM-Solver / DPM-Solver++ (Lu et al.), diffusers `DPMSolverSinglestepScheduler`
// semantics: the plan is cut into groups of 1, 2 or 3 steps; each group restarts from the sample at
// its first step and uses the intermediate model outputs of the group for a higher-order update.
import type { ConfigOf, FloatArray, NoiseSchedule, NoiseSource, PlanData, SamplerPlugin } from "@fccf/core";
import { linspace, option, roundHalfEven } from "@fccf/core";
import {
  alphaSigma,
  Buffers,
  fixedOption,
  History,
  lambdaOf,
  predictionOption,
  unsupportedFlowOptions,
  unsupportedSigmaOptions,
  unsupportedThresholdOptions,
} from "./common.js";
import { clippedLastTimestep, convertForDpm, type DpmAlgorithm } from "./dpm-shared.js";

const ALGORITHMS: readonly DpmAlgorithm[] = ["dpmsolver++", "dpmsolver", "sde-dpmsolver++"];

const options = {
  predictionType: predictionOption(),
  solverOrder: option.number(2, "solver order (1, 2 or 3)", { integer: true, min: 1, max: 3 }),
  algorithmType: option.oneOf(ALGORITHMS, "dpmsolver++", "dpmsolver++ (x0) or dpmsolver (eps)"),
  solverType: option.oneOf(["midpoint", "heun"], "midpoint", "second/third-order update rule"),
  lowerOrderFinal: option.bool(true, "end with lower orders so the groups fit the step count"),
  finalSigmasType: option.oneOf(["zero", "sigma_min"], "zero", "noise level of the returned sample"),
  lambdaMinClipped: option.number(
    Number.NEGATIVE_INFINITY,
    "lower clip of lambda (use -5.1 for the cosine schedule)",
    {
      allowNegInfinity: true,
    },
  ),
  varianceType: fixedOption(null, "learned variance channels"),
  ...unsupportedSigmaOptions,
  ...unsupportedThresholdOptions,
  ...unsupportedFlowOptions,
};
type Config = ConfigOf<typeof options>;

function validate(c: Config): void {
  if (c.algorithmType === "dpmsolver" && c.finalSigmasType === "zero") {
    throw new RangeError(
      "algorithmType 'dpmsolver' needs finalSigmasType 'sigma_min' (its last step divides by sigma)",
    );
  }
  if (c.algorithmType === "sde-dpmsolver++" && c.solverOrder > 2) {
    throw new RangeError(`algorithmType 'sde-dpmsolver++' supports solverOrder 1 or 2, got ${c.solverOrder}`);
  }
}

/**
 * The order of each step (diffusers `get_order_list`, including its lowerOrderFinal rewrites). A
 * last step to sigma = 0 is first order: higher orders divide by the infinite log-SNR step there.
 */
export function singlestepOrders(
  steps: number,
  order: number,
  lowerOrderFinal: boolean,
  finalZero: boolean,
): number[] {
  const orders = groupOrders(steps, order, lowerOrderFinal, finalZero);
  if (finalZero && orders.length > 0) orders[orders.length - 1] = 1;
  return orders;
}

function groupOrders(steps: number, order: number, lowerOrderFinal: boolean, finalZero: boolean): number[] {
  let lof = lowerOrderFinal;
  if (!lof && steps % order !== 0) lof = true;
  if (!lof && finalZero) lof = true;
  const rep = (pattern: number[], k: number) => Array.from({ length: Math.max(0, k) }, () => pattern).flat();
  if (order === 1) return new Array(steps).fill(1);
  if (!lof) return order === 3 ? rep([1, 2, 3], steps / 3) : rep([1, 2], steps / 2);
  if (order === 3) {
    if (steps % 3 === 0) return [...rep([1, 2, 3], steps / 3 - 1), 1, 2, 1];
    if (steps % 3 === 1) return [...rep([1, 2, 3], Math.floor(steps / 3)), 1];
    return [...rep([1, 2, 3], Math.floor(steps / 3)), 1, 2];
  }
  if (steps % 2 === 0) return [...rep([1, 2], steps / 2 - 1), 1, 1];
  return [...rep([1, 2], Math.floor(steps / 2)), 1];
}

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const T = schedule.numTrainTimesteps;
  if (steps > T)
    throw new RangeError(`dpm-solver-singlestep: ${steps} steps exceed the ${T} training timesteps`);
  const last = clippedLastTimestep(schedule, c.lambdaMinClipped);
  const timesteps = linspace(0, last - 1, steps + 1)
    .map(roundHalfEven)
    .reverse()
    .slice(0, steps);
  const final = c.finalSigmasType === "zero" ? 0 : schedule.sigmas[0]!;
  return { timesteps, levels: [...timesteps.map((t) => schedule.sigmas[t]!), final], initNoiseSigma: 1 };
}

function start(_schedule: NoiseSchedule, c: Config, p: PlanData) {
  const orders = singlestepOrders(
    p.timesteps.length,
    c.solverOrder,
    c.lowerOrderFinal,
    c.finalSigmasType === "zero",
  );
  const history = new History(c.solverOrder);
  const buf = new Buffers();
  return {
    step(out: FloatArray, x: FloatArray, i: number, noise: NoiseSource | undefined) {
      history.push(convertForDpm(c.algorithmType, c.predictionType, out, x, p.levels[i]!, buf.get(0, x)));
      let z: FloatArray | undefined;
      if (c.algorithmType === "sde-dpmsolver++") {
        z = buf.get(1, x);
        noise!.fill(z);
      }
      // A run that starts mid-plan has fewer outputs than the group needs: lower the order.
      const order = Math.min(orders[i] ?? 1, history.length);
      const start = buf.get(2, x);
      if (order === 1) start.set(x);
      update(c, order, p.levels, i, history, start, x, z);
    },
  };
}

function update(
  c: Config,
  order: number,
  levels: readonly number[],
  i: number,
  history: History,
  sample: FloatArray,
  x: FloatArray,
  z: FloatArray | undefined,
): void {
  const [alphaT, sigmaT] = alphaSigma(levels[i + 1]!);
  const lambdaT = Math.log(alphaT) - Math.log(sigmaT);
  const alg = c.algorithmType;
  const n = x.length;
  if (order === 1) {
    const [alphaS, sigmaS] = alphaSigma(levels[i]!);
    const h = lambdaT - (Math.log(alphaS) - Math.log(sigmaS));
    const m = history.at(1);
    if (alg === "dpmsolver++") {
      const a = sigmaT / sigmaS;
      const b = -(alphaT * (Math.exp(-h) - 1));
      for (let j = 0; j < n; j++) x[j] = a * sample[j]! + b * m[j]!;
    } else if (alg === "dpmsolver") {
      const a = alphaT / alphaS;
      const b = -(sigmaT * (Math.exp(h) - 1));
      for (let j = 0; j < n; j++) x[j] = a * sample[j]! + b * m[j]!;
    } else {
      const a = (sigmaT / sigmaS) * Math.exp(-h);
      const b = alphaT * (1 - Math.exp(-2 * h));
      const d = sigmaT * Math.sqrt(1 - Math.exp(-2 * h));
      for (let j = 0; j < n; j++) x[j] = a * sample[j]! + b * m[j]! + d * z![j]!;
    }
    return;
  }
  const midpoint = c.solverType === "midpoint";
  if (order === 2) {
    const [alphaS1, sigmaS1] = alphaSigma(levels[i - 1]!);
    const lambdaS1 = Math.log(alphaS1) - Math.log(sigmaS1);
    const lambdaS0 = lambdaOf(levels[i]!);
    const h = lambdaT - lambdaS1;
    const r0 = (lambdaS0 - lambdaS1) / h;
    const m0 = history.at(1);
    const m1 = history.at(2);
    let cx: number;
    let c0: number;
    let cd: number;
    let cz = 0;
    if (alg === "dpmsolver++") {
      cx = sigmaT / sigmaS1;
      c0 = -(alphaT * (Math.exp(-h) - 1));
      cd = midpoint ? -0.5 * (alphaT * (Math.exp(-h) - 1)) : alphaT * ((Math.exp(-h) - 1) / h + 1);
    } else if (alg === "dpmsolver") {
      cx = alphaT / alphaS1;
      c0 = -(sigmaT * (Math.exp(h) - 1));
      cd = midpoint ? -0.5 * (sigmaT * (Math.exp(h) - 1)) : -(sigmaT * ((Math.exp(h) - 1) / h - 1));
    } else {
      cx = (sigmaT / sigmaS1) * Math.exp(-h);
      c0 = alphaT * (1 - Math.exp(-2 * h));
      cd = midpoint
        ? 0.5 * (alphaT * (1 - Math.exp(-2 * h)))
        : alphaT * ((1 - Math.exp(-2 * h)) / (-2 * h) + 1);
      cz = sigmaT * Math.sqrt(1 - Math.exp(-2 * h));
    }
    const inv = 1 / r0;
    for (let j = 0; j < n; j++) {
      x[j] = cx * sample[j]! + c0 * m1[j]! + cd * (inv * (m0[j]! - m1[j]!)) + (z ? cz * z[j]! : 0);
    }
    return;
  }
  const [alphaS2, sigmaS2] = alphaSigma(levels[i - 2]!);
  const lambdaS2 = Math.log(alphaS2) - Math.log(sigmaS2);
  const lambdaS1 = lambdaOf(levels[i - 1]!);
  const lambdaS0 = lambdaOf(levels[i]!);
  const h = lambdaT - lambdaS2;
  const r0 = (lambdaS0 - lambdaS2) / h;
  const r1 = (lambdaS1 - lambdaS2) / h;
  const m0 = history.at(1);
  const m1 = history.at(2);
  const m2 = history.at(3);
  let cx: number;
  let c0: number;
  let c1: number;
  let c2 = 0;
  if (alg === "dpmsolver++") {
    cx = sigmaT / sigmaS2;
    c0 = -(alphaT * (Math.exp(-h) - 1));
    c1 = alphaT * ((Math.exp(-h) - 1) / h + 1);
    if (!midpoint) c2 = -(alphaT * ((Math.exp(-h) - 1 + h) / h ** 2 - 0.5));
  } else {
    cx = alphaT / alphaS2;
    c0 = -(sigmaT * (Math.exp(h) - 1));
    c1 = -(sigmaT * ((Math.exp(h) - 1) / h - 1));
    if (!midpoint) c2 = -(sigmaT * ((Math.exp(h) - 1 - h) / h ** 2 - 0.5));
  }
  for (let j = 0; j < n; j++) {
    const d10 = (1 / r1) * (m1[j]! - m2[j]!);
    const d11 = (1 / r0) * (m0[j]! - m2[j]!);
    if (midpoint) x[j] = cx * sample[j]! + c0 * m2[j]! + c1 * d11;
    else {
      const d1 = (r0 * d10 - r1 * d11) / (r0 - r1);
      const d2 = (2 * (d11 - d10)) / (r0 - r1);
      x[j] = cx * sample[j]! + c0 * m2[j]! + c1 * d1 + c2 * d2;
    }
  }
}

/** Single-step DPM-Solver++ (default) / DPM-Solver, orders 1-3. */
export const dpmSolverSinglestep: SamplerPlugin<typeof options> = {
  name: "dpm-solver-singlestep",
  aliases: ["dpm-solver-single", "dpmsolver-singlestep", "dpm++2s", "dpm-singlestep"],
  description: "single-step DPM-Solver++ / DPM-Solver (orders 1-3, midpoint/heun)",
  options,
  space: "VP",
  order: (c) => c.solverOrder,
  stochastic: (c) => c.algorithmType === "sde-dpmsolver++",
  validate,
  plan,
  start,
};

// Single-step DPM-Solver / DPM-Solver++ (Lu et al.), diffusers `DPMSolverSinglestepScheduler`
// semantics: the plan is cut into groups of 1, 2 or 3 steps; each group restarts from the sample at
// its first step and uses the intermediate model outputs of the group for a higher-order update.
import type { ConfigOf, FloatArray, NoiseSchedule, NoiseSource, PlanData, SamplerPlugin } from "@fccf/core";
import { conversion, linspace, option, roundHalfEven } from "@fccf/core";
import {
  alphaSigma,
  Buffers,
  fixedOption,
  History,
  lambdaOf,
  predictionOption,
  sigmaSpacingOptions,
  unsupportedFlowOptions,
  unsupportedThresholdOptions,
} from "./common.js";
import { clippedLastTimestep, type DpmAlgorithm, dpmPlanData, usesX0 } from "./dpm-shared.js";
import { Arena, Kernel } from "./kernels/kernel.js";

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
  ...sigmaSpacingOptions,
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
  return dpmPlanData(schedule, timesteps, steps, c);
}

function start(_schedule: NoiseSchedule, c: Config, p: PlanData) {
  const orders = singlestepOrders(
    p.timesteps.length,
    c.solverOrder,
    c.lowerOrderFinal,
    c.finalSigmasType === "zero",
  );
  const arena = new Arena(c.solverOrder + 2);
  const history = new History(c.solverOrder, arena);
  const buf = new Buffers(arena, c.solverOrder);
  let stored = 0;
  return {
    release: () => arena.release(),
    step(out: FloatArray, x: FloatArray, i: number, noise: NoiseSource | undefined) {
      let z: FloatArray | undefined;
      if (c.algorithmType === "sde-dpmsolver++") {
        z = buf.get(0, x);
        noise!.fill(z);
      }
      stored = Math.min(stored + 1, c.solverOrder);
      // A run that starts mid-plan has fewer outputs than the group needs: lower the order.
      const order = Math.min(orders[i] ?? 1, stored);
      update(c, order, p.levels, i, history, arena, out, buf.get(1, x), x, z);
    },
  };
}

// The update loops below as WebAssembly kernels (kernels/kernel.ts), same expressions.
const O1_EXPR = "xv = x; m = (px * xv + po * out) * q; m0 = m; sample = xv; v = a * xv + b * m;";
const O1_Z = new Kernel("x out m0 sample z", "px po q a b d", `${O1_EXPR} x = v + d * z;`);
const O1 = new Kernel("x out m0 sample", "px po q a b", `${O1_EXPR} x = v;`);
const O2_EXPR =
  "m = (px * x + po * out) * q; m0 = m; mm1 = m1; v = cx * sample + c0 * mm1 + cd * (inv * (m - mm1));";
const O2_Z = new Kernel("x out m0 m1 sample z", "px po q cx c0 cd inv cz", `${O2_EXPR} x = v + cz * z;`);
const O2 = new Kernel("x out m0 m1 sample", "px po q cx c0 cd inv", `${O2_EXPR} x = v;`);
const O3_MID = new Kernel(
  "x out m0 m2 sample",
  "px po q cx c0 c1 i0",
  "m = (px * x + po * out) * q; m0 = m; mm2 = m2; d11 = i0 * (m - mm2); x = cx * sample + c0 * mm2 + c1 * d11;",
);
const O3 = new Kernel(
  "x out m0 m1 m2 sample",
  "px po q cx c0 c1 c2 i0 i1 r0 r1 ird",
  "m = (px * x + po * out) * q; m0 = m; mm2 = m2; d10 = i1 * (m1 - mm2); d11 = i0 * (m - mm2);" +
    "x = cx * sample + c0 * mm2 + c1 * ((r0 * d10 - r1 * d11) * ird) + c2 * (2 * (d11 - d10) * ird);",
);

/**
 * One update in a single pass: converts the model output into the newest history entry and
 * combines it with the group's earlier outputs, starting from the group's first sample `sample`
 * (recorded here when the step is first order).
 */
function update(
  c: Config,
  order: number,
  levels: readonly number[],
  i: number,
  history: History,
  arena: Arena,
  out: FloatArray,
  sample: FloatArray,
  x: FloatArray,
  z: FloatArray | undefined,
): void {
  const [alphaT, sigmaT] = alphaSigma(levels[i + 1]!);
  const lambdaT = Math.log(alphaT) - Math.log(sigmaT);
  const [alphaS0, sigmaS0] = alphaSigma(levels[i]!);
  const alg = c.algorithmType;
  const { px, po, q } = conversion(c.predictionType, usesX0(alg) ? "x0" : "eps", alphaS0, sigmaS0);
  const m0 = history.advance(x);
  const n = x.length;
  if (order === 1) {
    const h = lambdaT - (Math.log(alphaS0) - Math.log(sigmaS0));
    let a: number;
    let b: number;
    let d = 0;
    if (alg === "dpmsolver++") {
      a = sigmaT / sigmaS0;
      b = -(alphaT * (Math.exp(-h) - 1));
    } else if (alg === "dpmsolver") {
      a = alphaT / alphaS0;
      b = -(sigmaT * (Math.exp(h) - 1));
    } else {
      a = (sigmaT / sigmaS0) * Math.exp(-h);
      b = alphaT * (1 - Math.exp(-2 * h));
      d = sigmaT * Math.sqrt(1 - Math.exp(-2 * h));
    }
    if (z && arena.run(O1_Z, [x, out, m0, sample, z], [px, po, q, a, b, d])) return;
    if (!z && arena.run(O1, [x, out, m0, sample], [px, po, q, a, b])) return;
    for (let j = 0; j < n; j++) {
      const xv = x[j]!;
      const m = (px * xv + po * out[j]!) * q;
      m0[j] = m;
      sample[j] = xv;
      const v = a * xv + b * m;
      x[j] = z ? v + d * z[j]! : v;
    }
    return;
  }
  const midpoint = c.solverType === "midpoint";
  const lambdaS0 = Math.log(alphaS0) - Math.log(sigmaS0);
  if (order === 2) {
    const [alphaS1, sigmaS1] = alphaSigma(levels[i - 1]!);
    const lambdaS1 = Math.log(alphaS1) - Math.log(sigmaS1);
    const h = lambdaT - lambdaS1;
    const r0 = (lambdaS0 - lambdaS1) / h;
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
    const coeffs = [px, po, q, cx, c0, cd, inv];
    if (z && arena.run(O2_Z, [x, out, m0, m1, sample, z], [...coeffs, cz])) return;
    if (!z && arena.run(O2, [x, out, m0, m1, sample], coeffs)) return;
    for (let j = 0; j < n; j++) {
      const m = (px * x[j]! + po * out[j]!) * q;
      m0[j] = m;
      const mm1 = m1[j]!;
      const v = cx * sample[j]! + c0 * mm1 + cd * (inv * (m - mm1));
      x[j] = z ? v + cz * z[j]! : v;
    }
    return;
  }
  const [alphaS2, sigmaS2] = alphaSigma(levels[i - 2]!);
  const lambdaS2 = Math.log(alphaS2) - Math.log(sigmaS2);
  const lambdaS1 = lambdaOf(levels[i - 1]!);
  const h = lambdaT - lambdaS2;
  const r0 = (lambdaS0 - lambdaS2) / h;
  const r1 = (lambdaS1 - lambdaS2) / h;
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
  const i0 = 1 / r0;
  const i1 = 1 / r1;
  const ird = 1 / (r0 - r1);
  if (midpoint && arena.run(O3_MID, [x, out, m0, m2, sample], [px, po, q, cx, c0, c1, i0])) return;
  const coeffs = [px, po, q, cx, c0, c1, c2, i0, i1, r0, r1, ird];
  if (!midpoint && arena.run(O3, [x, out, m0, m1, m2, sample], coeffs)) return;
  for (let j = 0; j < n; j++) {
    const m = (px * x[j]! + po * out[j]!) * q;
    m0[j] = m;
    const mm2 = m2[j]!;
    const d10 = i1 * (m1[j]! - mm2);
    const d11 = i0 * (m - mm2);
    if (midpoint) x[j] = cx * sample[j]! + c0 * mm2 + c1 * d11;
    else
      x[j] = cx * sample[j]! + c0 * mm2 + c1 * ((r0 * d10 - r1 * d11) * ird) + c2 * (2 * (d11 - d10) * ird);
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

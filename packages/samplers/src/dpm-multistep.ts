// Multistep DPM-Solver (Lu et al. 2022) and DPM-Solver++ (2023) with the SDE variants, diffusers
// `DPMSolverMultistepScheduler` semantics: exponential-integrator updates in lambda = log(alpha/sigma)
// that reuse the previous one or two model outputs for orders 2 and 3.
import type { ConfigOf, FloatArray, NoiseSchedule, NoiseSource, PlanData, SamplerPlugin } from "@fccf/core";
import { conversion, option } from "@fccf/core";
import {
  alphaSigma,
  Buffers,
  fixedOption,
  History,
  lambdaOf,
  predictionOption,
  sigmaSpacingOptions,
  spacingOption,
  stepsOffsetOption,
  unsupportedFlowOptions,
  unsupportedThresholdOptions,
} from "./common.js";
import { clippedLastTimestep, DPM_ALGORITHMS, type DpmAlgorithm, dpmPlanData, usesX0 } from "./dpm-shared.js";
import { Arena, Kernel } from "./kernels/kernel.js";
import { solverTimesteps } from "./timesteps.js";

function makeOptions(algorithm: DpmAlgorithm, finalSigmas: "zero" | "sigma_min") {
  return {
    predictionType: predictionOption(),
    solverOrder: option.number(2, "solver order (1, 2 or 3)", { integer: true, min: 1, max: 3 }),
    algorithmType: option.oneOf(
      DPM_ALGORITHMS,
      algorithm,
      "dpmsolver++ (x0), dpmsolver (eps), or their SDE variants",
    ),
    solverType: option.oneOf(["midpoint", "heun"], "midpoint", "second-order update rule"),
    lowerOrderFinal: option.bool(true, "use lower orders for the last steps when steps < 15"),
    eulerAtFinal: option.bool(false, "first-order last step"),
    finalSigmasType: option.oneOf(["zero", "sigma_min"], finalSigmas, "noise level of the returned sample"),
    lambdaMinClipped: option.number(
      Number.NEGATIVE_INFINITY,
      "lower clip of lambda (use -5.1 for the cosine schedule)",
      {
        allowNegInfinity: true,
      },
    ),
    timestepSpacing: spacingOption("linspace"),
    stepsOffset: stepsOffsetOption(),
    varianceType: fixedOption(null, "learned variance channels"),
    useLuLambdas: fixedOption(false, "uniform-lambda spacing"),
    rescaleBetasZeroSnr: fixedOption(false, "zero-terminal-SNR rescaling"),
    ...sigmaSpacingOptions,
    ...unsupportedThresholdOptions,
    ...unsupportedFlowOptions,
  };
}
const defaultOptions = makeOptions("dpmsolver++", "zero");
type Config = ConfigOf<typeof defaultOptions>;

function validate(c: Config): void {
  if (
    (c.algorithmType === "dpmsolver" || c.algorithmType === "sde-dpmsolver") &&
    c.finalSigmasType === "zero"
  ) {
    throw new RangeError(
      `algorithmType '${c.algorithmType}' needs finalSigmasType 'sigma_min' (its last step divides by sigma)`,
    );
  }
  if (c.algorithmType === "sde-dpmsolver" && c.solverOrder > 2) {
    throw new RangeError(`algorithmType 'sde-dpmsolver' supports solverOrder 1 or 2, got ${c.solverOrder}`);
  }
}

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const T = schedule.numTrainTimesteps;
  const last = clippedLastTimestep(schedule, c.lambdaMinClipped);
  const timesteps = solverTimesteps("dpm-solver", c.timestepSpacing, steps, T, c.stepsOffset, last);
  return dpmPlanData(schedule, timesteps, steps, c);
}

function start(_schedule: NoiseSchedule, c: Config, p: PlanData) {
  const n = p.timesteps.length;
  const arena = new Arena(c.solverOrder + 1);
  const history = new History(c.solverOrder, arena);
  const buf = new Buffers(arena, c.solverOrder);
  const sde = c.algorithmType.startsWith("sde-");
  let lowerOrderNums = 0;
  return {
    release: () => arena.release(),
    step(out: FloatArray, x: FloatArray, i: number, noise: NoiseSource | undefined) {
      const lowerFinal =
        i === n - 1 && (c.eulerAtFinal || (c.lowerOrderFinal && n < 15) || c.finalSigmasType === "zero");
      const lowerSecond = i === n - 2 && c.lowerOrderFinal && n < 15;
      let z: FloatArray | undefined;
      if (sde) {
        z = buf.get(0, x);
        noise!.fill(z);
      }
      let order = 3;
      if (c.solverOrder === 1 || lowerOrderNums < 1 || lowerFinal) order = 1;
      else if (c.solverOrder === 2 || lowerOrderNums < 2 || lowerSecond) order = 2;
      update(c, order, p.levels, i, history, arena, out, x, z);
      if (lowerOrderNums < c.solverOrder) lowerOrderNums++;
    },
  };
}

// The update loops below as WebAssembly kernels (kernels/kernel.ts), same expressions.
const M = "xv = x; m = (px * xv + po * out) * q; m0 = m;";
const O1_Z = new Kernel("x out m0 z", "px po q cx c0 cz", `${M} x = cx * xv + c0 * m + cz * z;`);
const O1_ONLY = new Kernel(
  "x out",
  "px po q cx c0",
  "xv = x; x = cx * xv + c0 * ((px * xv + po * out) * q);",
);
const O1 = new Kernel("x out m0", "px po q cx c0", `${M} x = cx * xv + c0 * m;`);
const O2_EXPR = "x = cx * xv + c0 * m + cd * (inv * (m - m1))";
const O2_Z = new Kernel("x out m0 m1 z", "px po q cx c0 cd inv cz", `${M} ${O2_EXPR} + cz * z;`);
const O2 = new Kernel("x out m0 m1", "px po q cx c0 cd inv", `${M} ${O2_EXPR};`);
const O3_EXPR =
  "m = (px * x + po * out) * q; m0 = m; mm1 = m1; d10 = i0 * (m - mm1); d11 = i1 * (mm1 - m2);" +
  "x = cx * x + c0 * m + c1 * (d10 + k * (d10 - d11)) + c2 * (kq * (d10 - d11))";
const O3_SCALARS = "px po q cx c0 c1 c2 k kq i0 i1";
const O3_Z = new Kernel("x out m0 m1 m2 z", `${O3_SCALARS} cz`, `${O3_EXPR} + cz * z;`);
const O3 = new Kernel("x out m0 m1 m2", O3_SCALARS, `${O3_EXPR};`);

/**
 * One update, fused into a single pass: convert the model output (stored as the newest history
 * entry) and combine it with the previous entries, in diffusers' expression order.
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
  z: FloatArray | undefined,
): void {
  const [alphaT, sigmaT] = alphaSigma(levels[i + 1]!);
  const [alphaS0, sigmaS0] = alphaSigma(levels[i]!);
  const lambdaT = Math.log(alphaT) - Math.log(sigmaT);
  const lambdaS0 = Math.log(alphaS0) - Math.log(sigmaS0);
  const h = lambdaT - lambdaS0;
  const alg = c.algorithmType;
  const { px, po, q } = conversion(c.predictionType, usesX0(alg) ? "x0" : "eps", alphaS0, sigmaS0);
  const m0 = history.advance(x);
  const len = x.length;
  let cx: number;
  let c0: number;
  let cz = 0;
  if (alg === "dpmsolver++") {
    cx = sigmaT / sigmaS0;
    c0 = -(alphaT * (Math.exp(-h) - 1));
  } else if (alg === "dpmsolver") {
    cx = alphaT / alphaS0;
    c0 = -(sigmaT * (Math.exp(h) - 1));
  } else if (alg === "sde-dpmsolver++") {
    cx = (sigmaT / sigmaS0) * Math.exp(-h);
    c0 = alphaT * (1 - Math.exp(-2 * h));
    cz = sigmaT * Math.sqrt(1 - Math.exp(-2 * h));
  } else {
    cx = alphaT / alphaS0;
    c0 = -2 * (sigmaT * (Math.exp(h) - 1));
    cz = sigmaT * Math.sqrt(Math.exp(2 * h) - 1);
  }
  if (order === 1) {
    if (z && arena.run(O1_Z, [x, out, m0, z], [px, po, q, cx, c0, cz])) return;
    if (!z && c.solverOrder === 1 && arena.run(O1_ONLY, [x, out], [px, po, q, cx, c0])) return;
    if (!z && c.solverOrder > 1 && arena.run(O1, [x, out, m0], [px, po, q, cx, c0])) return;
    if (z) {
      for (let j = 0; j < len; j++) {
        const xv = x[j]!;
        const m = (px * xv + po * out[j]!) * q;
        m0[j] = m;
        x[j] = cx * xv + c0 * m + cz * z[j]!;
      }
    } else if (c.solverOrder === 1) {
      // Nothing reads the history of a first-order solver: skip storing it.
      for (let j = 0; j < len; j++) {
        const xv = x[j]!;
        x[j] = cx * xv + c0 * ((px * xv + po * out[j]!) * q);
      }
    } else {
      for (let j = 0; j < len; j++) {
        const xv = x[j]!;
        const m = (px * xv + po * out[j]!) * q;
        m0[j] = m;
        x[j] = cx * xv + c0 * m;
      }
    }
    return;
  }
  const m1 = history.at(2);
  const h0 = lambdaS0 - lambdaOf(levels[i - 1]!);
  const r0 = h0 / h;
  if (order === 2) {
    const midpoint = c.solverType === "midpoint";
    let cd: number;
    if (alg === "dpmsolver++") {
      cd = midpoint ? -0.5 * (alphaT * (Math.exp(-h) - 1)) : alphaT * ((Math.exp(-h) - 1) / h + 1);
    } else if (alg === "dpmsolver") {
      cd = midpoint ? -0.5 * (sigmaT * (Math.exp(h) - 1)) : -(sigmaT * ((Math.exp(h) - 1) / h - 1));
    } else if (alg === "sde-dpmsolver++") {
      cd = midpoint
        ? 0.5 * (alphaT * (1 - Math.exp(-2 * h)))
        : alphaT * ((1 - Math.exp(-2 * h)) / (-2 * h) + 1);
    } else {
      cd = midpoint ? -(sigmaT * (Math.exp(h) - 1)) : -2 * (sigmaT * ((Math.exp(h) - 1) / h - 1));
    }
    const inv = 1 / r0;
    if (z && arena.run(O2_Z, [x, out, m0, m1, z], [px, po, q, cx, c0, cd, inv, cz])) return;
    if (!z && arena.run(O2, [x, out, m0, m1], [px, po, q, cx, c0, cd, inv])) return;
    if (z) {
      for (let j = 0; j < len; j++) {
        const xv = x[j]!;
        const m = (px * xv + po * out[j]!) * q;
        m0[j] = m;
        x[j] = cx * xv + c0 * m + cd * (inv * (m - m1[j]!)) + cz * z[j]!;
      }
    } else {
      for (let j = 0; j < len; j++) {
        const xv = x[j]!;
        const m = (px * xv + po * out[j]!) * q;
        m0[j] = m;
        x[j] = cx * xv + c0 * m + cd * (inv * (m - m1[j]!));
      }
    }
    return;
  }
  const m2 = history.at(3);
  const r1 = (lambdaOf(levels[i - 1]!) - lambdaOf(levels[i - 2]!)) / h;
  let c1: number;
  let c2: number;
  if (alg === "dpmsolver++") {
    c1 = alphaT * ((Math.exp(-h) - 1) / h + 1);
    c2 = -(alphaT * ((Math.exp(-h) - 1 + h) / h ** 2 - 0.5));
  } else if (alg === "sde-dpmsolver++") {
    c1 = alphaT * ((1 - Math.exp(-2 * h)) / (-2 * h) + 1);
    c2 = alphaT * ((1 - Math.exp(-2 * h) - 2 * h) / (2 * h) ** 2 - 0.5);
  } else {
    c1 = -(sigmaT * ((Math.exp(h) - 1) / h - 1));
    c2 = -(sigmaT * ((Math.exp(h) - 1 - h) / h ** 2 - 0.5));
  }
  const k = r0 / (r0 + r1);
  const kq = 1 / (r0 + r1);
  const i0 = 1 / r0;
  const i1 = 1 / r1;
  const coeffs = [px, po, q, cx, c0, c1, c2, k, kq, i0, i1];
  if (z && arena.run(O3_Z, [x, out, m0, m1, m2, z], [...coeffs, cz])) return;
  if (!z && arena.run(O3, [x, out, m0, m1, m2], coeffs)) return;
  if (z) {
    for (let j = 0; j < len; j++) {
      const m = (px * x[j]! + po * out[j]!) * q;
      m0[j] = m;
      const mm1 = m1[j]!;
      const d10 = i0 * (m - mm1);
      const d11 = i1 * (mm1 - m2[j]!);
      x[j] = cx * x[j]! + c0 * m + c1 * (d10 + k * (d10 - d11)) + c2 * (kq * (d10 - d11)) + cz * z[j]!;
    }
    return;
  }
  for (let j = 0; j < len; j++) {
    const m = (px * x[j]! + po * out[j]!) * q;
    m0[j] = m;
    const mm1 = m1[j]!;
    const d10 = i0 * (m - mm1);
    const d11 = i1 * (mm1 - m2[j]!);
    x[j] = cx * x[j]! + c0 * m + c1 * (d10 + k * (d10 - d11)) + c2 * (kq * (d10 - d11));
  }
}

function makePlugin(
  name: string,
  aliases: readonly string[],
  algorithm: DpmAlgorithm,
  finalSigmas: "zero" | "sigma_min",
  description: string,
): SamplerPlugin<typeof defaultOptions> {
  return {
    name,
    aliases,
    description,
    options: makeOptions(algorithm, finalSigmas),
    space: "VP",
    order: (c) => c.solverOrder,
    stochastic: (c) => c.algorithmType.startsWith("sde-"),
    validate,
    plan,
    start,
  };
}

/** Multistep DPM-Solver++ (data prediction), default order 2: diffusers' default "DPM++ 2M". */
export const dpmSolverPlusPlus = makePlugin(
  "dpm-solver++",
  ["ddp-solver++", "dpm++", "dpmpp", "dpm++2m", "dpmsolver++", "dpm-solver-multistep"],
  "dpmsolver++",
  "zero",
  "multistep DPM-Solver++ (orders 1-3, midpoint/heun; algorithmType sde-dpmsolver++ for the SDE variant)",
);

/** Multistep DPM-Solver (noise prediction), default order 2, ends at sigma_min. */
export const dpmSolver = makePlugin(
  "dpm-solver",
  ["ddp-solver", "dpm", "dpmsolver", "dpm-2m"],
  "dpmsolver",
  "sigma_min",
  "multistep DPM-Solver (noise prediction, orders 1-3, midpoint/heun)",
);

/** SDE-DPM-Solver++ (stochastic), default order 2. */
export const sdeDpmSolverPlusPlus = makePlugin(
  "sde-dpm-solver++",
  ["sde-dpmsolver++", "dpm++sde", "sde-dpm++"],
  "sde-dpmsolver++",
  "zero",
  "SDE-DPM-Solver++ (stochastic, orders 1-3)",
);

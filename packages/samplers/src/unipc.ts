// UniPC (Zhao et al. 2023), diffusers `UniPCMultistepScheduler` semantics: a multistep predictor
// (UniP) followed, once the next model output is known, by a corrector (UniC) that reuses that
// output, so the order rises by one at no extra model call. B(h) is h (bh1) or e^h - 1 (bh2).
import type { ConfigOf, FloatArray, NoiseSchedule, PlanData, SamplerPlugin } from "@fccf/core";
import { conversion, option } from "@fccf/core";
import {
  alphaSigma,
  fixedOption,
  History,
  lambdaOf,
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
  solverOrder: option.number(2, "predictor order (1, 2 or 3)", { integer: true, min: 1, max: 3 }),
  predictX0: option.bool(true, "integrate the data prediction (true) or the noise prediction (false)"),
  solverType: option.oneOf(["bh2", "bh1"], "bh2", "B(h) = e^h - 1 (bh2) or h (bh1)"),
  lowerOrderFinal: option.bool(true, "lower the order over the last steps"),
  disableCorrector: option.indexList([], "step indices whose corrector is skipped"),
  finalSigmasType: option.oneOf(["zero", "sigma_min"], "zero", "noise level of the returned sample"),
  timestepSpacing: spacingOption("linspace"),
  stepsOffset: stepsOffsetOption(),
  solverP: fixedOption(null, "external predictor"),
  sigmaMin: fixedOption(null, "Karras sigma_min"),
  sigmaMax: fixedOption(null, "Karras sigma_max"),
  shiftTerminal: fixedOption(null, "terminal shift"),
  rescaleBetasZeroSnr: fixedOption(false, "zero-terminal-SNR rescaling"),
  ...sigmaSpacingOptions,
  ...unsupportedThresholdOptions,
  ...unsupportedFlowOptions,
};
type Config = ConfigOf<typeof options>;

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const T = schedule.numTrainTimesteps;
  const timesteps = solverTimesteps("unipc", c.timestepSpacing, steps, T, c.stepsOffset);
  if (c.useKarrasSigmas) {
    const k = vpKarrasPlan(schedule, steps);
    return {
      timesteps: k.timesteps,
      levels: [...k.levels, c.finalSigmasType === "zero" ? 0 : k.levels.at(-1)!],
      initNoiseSigma: 1,
    };
  }
  const final = c.finalSigmasType === "zero" ? 0 : schedule.sigmas[0]!;
  return { timesteps, levels: [...timesteps.map((t) => schedule.sigmas[t]!), final], initNoiseSigma: 1 };
}

/** Solves the small dense system A x = b (Gaussian elimination with partial pivoting). */
export function solveSmall(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row.slice(0, n), b[i]!]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[piv]![col]!)) piv = r;
    [m[col], m[piv]] = [m[piv]!, m[col]!];
    for (let r = col + 1; r < n; r++) {
      const f = m[r]![col]! / m[col]![col]!;
      for (let k = col; k <= n; k++) m[r]![k] = m[r]![k]! - f * m[col]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= m[r]![k]! * x[k]!;
    x[r] = s / m[r]![r]!;
  }
  return x;
}

interface Coefficients {
  hPhi1: number;
  bh: number;
  rks: number[];
  b: number[];
}

/** The B(h)-weighted phi coefficients of UniPC for `order` points (rks: r_k = (lambda_k - lambda_s0)/h). */
function coefficients(c: Config, h: number, rks: number[], order: number): Coefficients {
  const hh = c.predictX0 ? -h : h;
  const hPhi1 = Math.expm1(hh);
  let hPhiK = hPhi1 / hh - 1;
  let factorial = 1;
  const bh = c.solverType === "bh1" ? hh : Math.expm1(hh);
  const b: number[] = [];
  for (let k = 1; k <= order; k++) {
    b.push((hPhiK * factorial) / bh);
    factorial *= k + 1;
    hPhiK = hPhiK / hh - 1 / factorial;
  }
  return { hPhi1, bh, rks: [...rks, 1], b };
}

function vandermonde(rks: number[], size: number): number[][] {
  return Array.from({ length: size }, (_, p) => rks.slice(0, size).map((r) => r ** p));
}

/** Scalars of one UniP or UniC update: x_t = cx x_s0 - cm m0 - cb (sum_k rhos_k D_k [+ rhoT D_t]). */
interface Update {
  cx: number;
  cm: number;
  cb: number;
  rhos: number[];
  rks: number[];
}

function updateScalars(
  c: Config,
  levels: readonly number[],
  t: number,
  s0: number,
  order: number,
  corrector: boolean,
  past: (k: number) => number,
): Update {
  const [alphaT, sigmaT] = alphaSigma(levels[t]!);
  const [alphaS0, sigmaS0] = alphaSigma(levels[s0]!);
  const lambdaS0 = Math.log(alphaS0) - Math.log(sigmaS0);
  const h = Math.log(alphaT) - Math.log(sigmaT) - lambdaS0;
  const rks: number[] = [];
  for (let k = 1; k < order; k++) rks.push((lambdaOf(levels[past(k)]!) - lambdaS0) / h);
  const co = coefficients(c, h, rks, order);
  let rhos: number[];
  if (corrector) rhos = order === 1 ? [0.5] : solveSmall(vandermonde(co.rks, order), co.b);
  else if (order === 2) rhos = [0.5];
  else if (order > 2) rhos = solveSmall(vandermonde(co.rks, order - 1), co.b.slice(0, order - 1));
  else rhos = [];
  const scaleT = c.predictX0 ? alphaT : sigmaT;
  return {
    cx: c.predictX0 ? sigmaT / sigmaS0 : alphaT / alphaS0,
    cm: scaleT * co.hPhi1,
    cb: scaleT * co.bh,
    rhos,
    rks,
  };
}

// The update loops below as WebAssembly kernels (kernels/kernel.ts), same expressions.
const PREDICT = new Kernel(
  "x out slot p0 p1",
  "px po q cx cm b0 b1",
  "xv = x; mT = (px * xv + po * out) * q; slot = mT; x = cx * xv - cm * mT - (b0 * (p0 - mT) + b1 * (p1 - mT));",
);
const CORRECT = new Kernel(
  "x out slot m0 c0 c1 p0 p1",
  "px po q a0 a1 aT cx cm b0 b1",
  "xv = x; mT = (px * xv + po * out) * q; m0j = m0;" +
    "xc = xv + a0 * (c0 - m0j) + a1 * (c1 - m0j) - aT * (mT - m0j); slot = mT;" +
    "x = cx * xc - cm * mT - (b0 * (p0 - mT) + b1 * (p1 - mT));",
);

function start(_schedule: NoiseSchedule, c: Config, p: PlanData) {
  const n = p.timesteps.length;
  const arena = new Arena(c.solverOrder);
  const history = new History(c.solverOrder, arena);
  let lowerOrderNums = 0;
  let thisOrder = 1;
  // The previous predictor: x = base - cb * res_p, with res_p = sum_k w_k (m_k - m0) / r_k.
  let prev: { w0: number; w1: number; ir0: number; ir1: number; cb: number } | undefined;

  return {
    release: () => arena.release(),
    step(out: FloatArray, x: FloatArray, i: number) {
      const [alpha, sigma] = alphaSigma(p.levels[i]!);
      const { px, po, q } = conversion(c.predictionType, c.predictX0 ? "x0" : "eps", alpha, sigma);
      // UniC corrects x (at level i) with the output just computed there, using the order of the
      // predictor that produced it.
      const correct = i > 0 && prev !== undefined && !c.disableCorrector.includes(i - 1);
      const corr = correct
        ? updateScalars(c, p.levels, i, i - 1, thisOrder, true, (k) => i - (k + 1))
        : undefined;
      const older = Array.from({ length: history.length }, (_, k) => history.at(k + 1));

      const target = c.lowerOrderFinal ? Math.min(c.solverOrder, n - i) : c.solverOrder;
      const order = Math.min(target, lowerOrderNums + 1);
      const pred = updateScalars(c, p.levels, i + 1, i, order, false, (k) => i - k);
      const slot = history.advance(x);
      // After this step the history is [mT, older[0], older[1], ...]: UniP's k-th past output.
      const predPast = older.slice(0, order - 1);
      // Up to two past outputs per update, unrolled; an unused term reads an array the loop reads
      // anyway with a zero weight (no extra memory traffic, no branch in the loop). Per-element
      // divisions cost more than the loop's memory traffic: multiply by reciprocals.
      const len = x.length;
      const [p0, p1] = [predPast[0] ?? x, predPast[1] ?? x];
      const w0 = pred.rhos[0] ?? 0;
      const w1 = predPast.length > 1 ? pred.rhos[1]! : 0;
      const [ir0, ir1] = [1 / (pred.rks[0] ?? 1), 1 / (pred.rks[1] ?? 1)];
      const { cx, cm, cb } = pred;
      if (!corr || !prev) {
        const b0 = cb * w0 * ir0;
        const b1 = cb * w1 * ir1;
        if (!arena.run(PREDICT, [x, out, slot, p0, p1], [px, po, q, cx, cm, b0, b1])) {
          for (let j = 0; j < len; j++) {
            const xv = x[j]!;
            const mT = (px * xv + po * out[j]!) * q;
            slot[j] = mT;
            x[j] = cx * xv - cm * mT - (b0 * (p0[j]! - mT) + b1 * (p1[j]! - mT));
          }
        }
      } else {
        // The corrector redoes the last step from the same start with the same phi coefficients
        // as the predictor that produced x, so x_c = (x + cb_p res_p) - cb_c res_c: the start
        // sample never needs to be kept. Its past outputs are the previous predictor's.
        const m0 = older[0]!;
        const corrPast = older.slice(1, thisOrder);
        const [c0, c1] = [corrPast[0] ?? m0, corrPast[1] ?? m0];
        const v0 = corrPast.length > 0 ? corr.rhos[0]! : 0;
        const v1 = corrPast.length > 1 ? corr.rhos[1]! : 0;
        const [jr0, jr1] = [1 / (corr.rks[0] ?? 1), 1 / (corr.rks[1] ?? 1)];
        const vT = corr.rhos[corr.rhos.length - 1]!;
        const kb = corr.cb;
        const { w0: u0, w1: u1, ir0: kr0, ir1: kr1, cb: pb } = prev;
        // Folded coefficients: few live constants keep the loop in registers.
        const a0 = pb * u0 * kr0 - kb * v0 * jr0;
        const a1 = pb * u1 * kr1 - kb * v1 * jr1;
        const aT = kb * vT;
        const b0 = cb * w0 * ir0;
        const b1 = cb * w1 * ir1;
        const coeffs = [px, po, q, a0, a1, aT, cx, cm, b0, b1];
        if (!arena.run(CORRECT, [x, out, slot, m0, c0, c1, p0, p1], coeffs)) {
          for (let j = 0; j < len; j++) {
            const xv = x[j]!;
            const mT = (px * xv + po * out[j]!) * q;
            const m0j = m0[j]!;
            const xc = xv + a0 * (c0[j]! - m0j) + a1 * (c1[j]! - m0j) - aT * (mT - m0j);
            slot[j] = mT;
            x[j] = cx * xc - cm * mT - (b0 * (p0[j]! - mT) + b1 * (p1[j]! - mT));
          }
        }
      }
      prev = { w0, w1, ir0, ir1, cb };
      thisOrder = order;
      if (lowerOrderNums < c.solverOrder) lowerOrderNums++;
    },
  };
}

/** UniPC multistep predictor-corrector (bh1/bh2, orders 1-3). Alias: Unipc. */
export const unipc: SamplerPlugin<typeof options> = {
  name: "unipc",
  aliases: ["Unipc", "unipc-multistep", "uni-pc"],
  description: "UniPC predictor-corrector (bh1/bh2, orders 1-3, corrector can be disabled per step)",
  options,
  space: "VP",
  order: (c) => c.solverOrder,
  stochastic: () => false,
  plan,
  start,
};

// UniPC (Zhao et al. 2023), diffusers `UniPCMultistepScheduler` semantics: a multistep predictor
// (UniP) followed, once the next model output is known, by a corrector (UniC) that reuses that
// output, so the order rises by one at no extra model call. B(h) is h (bh1) or e^h - 1 (bh2).
import type { ConfigOf, FloatArray, NoiseSchedule, PlanData, SamplerPlugin } from "@fccf/core";
import { option, predictionToEpsilon, predictionToX0 } from "@fccf/core";
import {
  alphaSigma,
  Buffers,
  fixedOption,
  History,
  lambdaOf,
  predictionOption,
  spacingOption,
  stepsOffsetOption,
  unsupportedFlowOptions,
  unsupportedSigmaOptions,
  unsupportedThresholdOptions,
} from "./common.js";
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
  ...unsupportedSigmaOptions,
  ...unsupportedThresholdOptions,
  ...unsupportedFlowOptions,
};
type Config = ConfigOf<typeof options>;

function plan(schedule: NoiseSchedule, c: Config, steps: number): PlanData {
  const T = schedule.numTrainTimesteps;
  const timesteps = solverTimesteps("unipc", c.timestepSpacing, steps, T, c.stepsOffset);
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

function start(_schedule: NoiseSchedule, c: Config, p: PlanData) {
  const n = p.timesteps.length;
  const history = new History(c.solverOrder);
  const buf = new Buffers();
  let lowerOrderNums = 0;
  let thisOrder = 1;
  let haveLast = false;

  const convert = (out: FloatArray, x: FloatArray, level: number, dst: FloatArray) => {
    const [alpha, sigma] = alphaSigma(level);
    return c.predictX0
      ? predictionToX0(c.predictionType, out, x, alpha, sigma, dst)
      : predictionToEpsilon(c.predictionType, out, x, alpha, sigma, dst);
  };

  // x_t from x_s0 with the first-order part plus B(h) * sum rho_k D_k; `model` is m_t for UniC.
  const apply = (
    target: FloatArray,
    from: FloatArray,
    tLevel: number,
    s0Level: number,
    co: Coefficients,
    rhos: number[],
    diffs: FloatArray[],
    rhoT: number,
    model: FloatArray | undefined,
  ) => {
    const [alphaT, sigmaT] = alphaSigma(tLevel);
    const [alphaS0, sigmaS0] = alphaSigma(s0Level);
    const m0 = history.at(1);
    const cx = c.predictX0 ? sigmaT / sigmaS0 : alphaT / alphaS0;
    const scaleT = c.predictX0 ? alphaT : sigmaT;
    const cm = scaleT * co.hPhi1;
    const cb = scaleT * co.bh;
    const len = target.length;
    for (let j = 0; j < len; j++) {
      let res = 0;
      for (let k = 0; k < diffs.length; k++) res += rhos[k]! * diffs[k]![j]!;
      if (model) res += rhoT * (model[j]! - m0[j]!);
      target[j] = cx * from[j]! - cm * m0[j]! - cb * res;
    }
  };

  // D_k = (m_k - m0) / r_k for the k-th previous output, written into scratch arrays.
  const differences = (
    x: FloatArray,
    count: number,
    lambdaS0: number,
    h: number,
    levelIndex: (k: number) => number,
  ) => {
    const rks: number[] = [];
    const diffs: FloatArray[] = [];
    const m0 = history.at(1);
    for (let k = 1; k < count; k++) {
      const rk = (lambdaOf(p.levels[levelIndex(k)]!) - lambdaS0) / h;
      const mk = history.at(k + 1);
      const d = buf.get(3 + k, x);
      for (let j = 0; j < d.length; j++) d[j] = (mk[j]! - m0[j]!) / rk;
      rks.push(rk);
      diffs.push(d);
    }
    return { rks, diffs };
  };

  return {
    step(out: FloatArray, x: FloatArray, i: number) {
      const last = buf.get(1, x);
      const modelT = convert(out, x, p.levels[i]!, buf.get(0, x));
      if (i > 0 && haveLast && !c.disableCorrector.includes(i - 1)) {
        // UniC: correct x (at level i) using the output just computed there.
        const lambdaT = lambdaOf(p.levels[i]!);
        const lambdaS0 = lambdaOf(p.levels[i - 1]!);
        const h = lambdaT - lambdaS0;
        const { rks, diffs } = differences(x, thisOrder, lambdaS0, h, (k) => i - (k + 1));
        const co = coefficients(c, h, rks, thisOrder);
        const rhosC = thisOrder === 1 ? [0.5] : solveSmall(vandermonde(co.rks, thisOrder), co.b);
        apply(x, last, p.levels[i]!, p.levels[i - 1]!, co, rhosC, diffs, rhosC[rhosC.length - 1]!, modelT);
      }
      history.push(modelT);
      const target = c.lowerOrderFinal ? Math.min(c.solverOrder, n - i) : c.solverOrder;
      thisOrder = Math.min(target, lowerOrderNums + 1);
      last.set(x);
      haveLast = true;
      // UniP: predict the sample at level i+1.
      const lambdaT = lambdaOf(p.levels[i + 1]!);
      const lambdaS0 = lambdaOf(p.levels[i]!);
      const h = lambdaT - lambdaS0;
      const { rks, diffs } = differences(x, thisOrder, lambdaS0, h, (k) => i - k);
      const co = coefficients(c, h, rks, thisOrder);
      let rhosP: number[] = [];
      if (thisOrder === 2) rhosP = [0.5];
      else if (thisOrder > 2)
        rhosP = solveSmall(vandermonde(co.rks, thisOrder - 1), co.b.slice(0, thisOrder - 1));
      apply(x, last, p.levels[i + 1]!, p.levels[i]!, co, rhosP, diffs, 0, undefined);
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

// PNDM (Liu et al. 2022), diffusers `PNDMScheduler` semantics: pseudo Runge-Kutta warm-up (four model
// calls per step over the first three steps, unless skipPrkSteps) then pseudo linear multistep
// (Adams-Bashforth on eps), each using the DDIM-like transfer x_t -> x_{t'} of a noise estimate.
import type { ConfigOf, FloatArray, NoiseSchedule, PlanData, SamplerPlugin } from "@fccf/core";
import { option, predictionToEpsilon } from "@fccf/core";
import { Buffers, History, predictionOption, spacingOption, stepsOffsetOption } from "./common.js";
import { discreteTimesteps } from "./timesteps.js";

const options = {
  predictionType: predictionOption(),
  skipPrkSteps: option.bool(false, "start with the multistep phase instead of the Runge-Kutta warm-up"),
  setAlphaToOne: option.bool(false, "the final step goes to abar = 1 (else to abar[0])"),
  timestepSpacing: spacingOption("leading"),
  stepsOffset: stepsOffsetOption(),
};
type Config = ConfigOf<typeof options>;

interface PndmPlan extends PlanData {
  prkCount: number;
  ratio: number;
}

function plan(schedule: NoiseSchedule, c: Config, steps: number): PndmPlan {
  const T = schedule.numTrainTimesteps;
  // The base grid ascending, as diffusers keeps it.
  const base = discreteTimesteps("pndm", c.timestepSpacing, steps, T, c.stepsOffset).reverse();
  const ratio = Math.floor(T / steps);
  let prk: number[] = [];
  let plms: number[];
  if (c.skipPrkSteps) {
    plms = [...base.slice(0, -1), ...base.slice(-2, -1), ...base.slice(-1)].reverse();
  } else {
    if (base.length < 4) throw new RangeError("pndm needs at least 4 steps unless skipPrkSteps is set");
    const half = Math.floor(ratio / 2);
    const tail = base
      .slice(-4)
      .flatMap((t) => [t, t])
      .map((t, k) => t + (k % 2 === 0 ? 0 : half));
    prk = tail
      .slice(0, -1)
      .flatMap((t) => [t, t])
      .slice(1, -1)
      .reverse();
    plms = base.slice(0, -3).reverse();
  }
  const timesteps = [...prk, ...plms];
  const finalAbar = c.setAlphaToOne ? 1 : schedule.alphasCumprod[0]!;
  const lastPrev = timesteps.at(-1)! - ratio;
  const lastAbar = lastPrev >= 0 ? schedule.alphasCumprod[lastPrev]! : finalAbar;
  const levels = [...timesteps.map((t) => schedule.sigmas[t]!), Math.sqrt((1 - lastAbar) / lastAbar)];
  return { timesteps, levels, initNoiseSigma: 1, startIndices: [0], prkCount: prk.length, ratio };
}

function start(schedule: NoiseSchedule, c: Config, data: PlanData) {
  const p = data as PndmPlan;
  const ac = schedule.alphasCumprod;
  const finalAbar = c.setAlphaToOne ? 1 : ac[0]!;
  const buf = new Buffers();
  const ets = new History(4);
  let counter = 0;

  // The transfer of F-PNDM: x_{prev} from x_t and an eps estimate (equal to a DDIM eta=0 step).
  const transfer = (x: FloatArray, from: FloatArray, t: number, prevT: number, eps: FloatArray) => {
    const a = ac[t]!;
    const aPrev = prevT >= 0 ? ac[prevT]! : finalAbar;
    const b = 1 - a;
    const bPrev = 1 - aPrev;
    const cs = (aPrev / a) ** 0.5;
    const denom = a * bPrev ** 0.5 + (a * b * aPrev) ** 0.5;
    const ce = (aPrev - a) / denom;
    for (let j = 0; j < x.length; j++) x[j] = cs * from[j]! - ce * eps[j]!;
  };

  return {
    step(out: FloatArray, x: FloatArray, i: number) {
      const tCall = p.timesteps[i]!;
      const a = ac[tCall]!;
      const eps = predictionToEpsilon(c.predictionType, out, x, a ** 0.5, (1 - a) ** 0.5, buf.get(0, x));
      const cur = buf.get(1, x);
      const acc = buf.get(2, x);
      const combined = buf.get(3, x);
      if (counter < p.prkCount) {
        const phase = counter % 4;
        const prevT = tCall - (counter % 2 ? 0 : Math.floor(p.ratio / 2));
        const t = p.timesteps[Math.floor(counter / 4) * 4]!;
        if (phase === 0) {
          for (let j = 0; j < x.length; j++) acc[j] = eps[j]! / 6;
          ets.push(eps);
          cur.set(x);
          transfer(x, cur, t, prevT, eps);
        } else if (phase === 1 || phase === 2) {
          for (let j = 0; j < x.length; j++) acc[j] = acc[j]! + eps[j]! / 3;
          transfer(x, cur, t, prevT, eps);
        } else {
          for (let j = 0; j < x.length; j++) combined[j] = acc[j]! + eps[j]! / 6;
          transfer(x, cur, t, prevT, combined);
        }
      } else {
        let t = tCall;
        let prevT = t - p.ratio;
        if (counter !== 1) ets.push(eps);
        else {
          prevT = t;
          t = t + p.ratio;
        }
        let from = x;
        if (ets.length === 1 && counter === 0) {
          combined.set(eps);
          cur.set(x);
        } else if (ets.length === 1 && counter === 1) {
          const e1 = ets.at(1);
          for (let j = 0; j < x.length; j++) combined[j] = (eps[j]! + e1[j]!) / 2;
          from = cur;
        } else if (ets.length === 2) {
          const [e1, e2] = [ets.at(1), ets.at(2)];
          for (let j = 0; j < x.length; j++) combined[j] = (3 * e1[j]! - e2[j]!) / 2;
        } else if (ets.length === 3) {
          const [e1, e2, e3] = [ets.at(1), ets.at(2), ets.at(3)];
          for (let j = 0; j < x.length; j++) combined[j] = (23 * e1[j]! - 16 * e2[j]! + 5 * e3[j]!) / 12;
        } else {
          const [e1, e2, e3, e4] = [ets.at(1), ets.at(2), ets.at(3), ets.at(4)];
          for (let j = 0; j < x.length; j++) {
            combined[j] = (1 / 24) * (55 * e1[j]! - 59 * e2[j]! + 37 * e3[j]! - 9 * e4[j]!);
          }
        }
        transfer(x, from, t, prevT, combined);
      }
      counter++;
    },
  };
}

/** PNDM (pseudo numerical methods: Runge-Kutta warm-up + 4th-order multistep). Alias: PNDM. */
export const pndm: SamplerPlugin<typeof options> = {
  name: "pndm",
  aliases: ["PNDM", "plms"],
  description:
    "PNDM: pseudo Runge-Kutta warm-up then pseudo linear multistep (VP, 4 model calls per warm-up step)",
  options,
  space: "VP",
  order: () => 4,
  stochastic: () => false,
  plan,
  start,
};

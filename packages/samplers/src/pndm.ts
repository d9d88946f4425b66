// PNDM (Liu et al. 2022), diffusers `PNDMScheduler` semantics: pseudo Runge-Kutta warm-up (four model
// calls per step over the first three steps, unless skipPrkSteps) then pseudo linear multistep
// (Adams-Bashforth on eps), each using the DDIM-like transfer x_t -> x_{t'} of a noise estimate.
import type { ConfigOf, FloatArray, NoiseSchedule, PlanData, SamplerPlugin } from "@fccf/core";
import { conversion, option } from "@fccf/core";
import { Buffers, History, predictionOption, spacingOption, stepsOffsetOption } from "./common.js";
import { Arena, Kernel } from "./kernels/kernel.js";
import { discreteTimesteps } from "./timesteps.js";

const options = {
  predictionType: predictionOption(),
  skipPrkSteps: option.bool(false, "start with the multistep phase instead of the Runge-Kutta warm-up"),
  setAlphaToOne: option.bool(false, "the final step goes to abar = 1 (else to abar[0])"),
  timestepSpacing: spacingOption("leading"),
  stepsOffset: stepsOffsetOption(),
};
type Config = ConfigOf<typeof options>;

const SIXTH = 1 / 6;
const THIRD = 1 / 3;

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

// The update loops below as WebAssembly kernels (kernels/kernel.ts), same expressions.
const PRK = "px po q cs ce";
const E = "e = (px * x + po * out) * q;";
const PRK_FIRST = new Kernel(
  "x out slot acc cur",
  `${PRK} sixth`,
  "xv = x; e = (px * xv + po * out) * q; slot = e; acc = e * sixth; cur = xv; x = cs * xv - ce * e;",
);
const PRK_MID = new Kernel(
  "x out acc cur",
  `${PRK} third`,
  `${E} acc = acc + e * third; x = cs * cur - ce * e;`,
);
const PRK_LAST = new Kernel("x out acc cur", `${PRK} sixth`, `${E} x = cs * cur - ce * (acc + e * sixth);`);
const plms = (save: string) =>
  new Kernel(
    "x out slot cur from e1 e2 e3",
    `${PRK} w0 w1 w2 w3`,
    `xv = x; e = (px * xv + po * out) * q; comb = w0 * e + w1 * e1 + w2 * e2 + w3 * e3; ${save}` +
      "slot = e; x = cs * from - ce * comb;",
  );
const PLMS_SAVE = plms("cur = xv;");
const PLMS = plms("");

function start(schedule: NoiseSchedule, c: Config, data: PlanData) {
  const p = data as PndmPlan;
  const ac = schedule.alphasCumprod;
  const finalAbar = c.setAlphaToOne ? 1 : ac[0]!;
  const arena = new Arena(6);
  const ets = new History(4, arena);
  const buf = new Buffers(arena, 4);
  let counter = 0;

  // The F-PNDM transfer x_t -> x_prev of a noise estimate (a DDIM eta = 0 step): x_prev = cs x - ce eps.
  const transfer = (t: number, prevT: number): [number, number] => {
    const a = ac[t]!;
    const aPrev = prevT >= 0 ? ac[prevT]! : finalAbar;
    const denom = a * (1 - aPrev) ** 0.5 + (a * (1 - a) * aPrev) ** 0.5;
    return [(aPrev / a) ** 0.5, (aPrev - a) / denom];
  };

  return {
    release: () => arena.release(),
    step(out: FloatArray, x: FloatArray, i: number) {
      const tCall = p.timesteps[i]!;
      const a = ac[tCall]!;
      const { px, po, q } = conversion(c.predictionType, "eps", a ** 0.5, (1 - a) ** 0.5);
      const cur = buf.get(0, x);
      const acc = buf.get(1, x);
      const len = x.length;
      // This call's position in the run (counted here, so every path below may return early).
      const call = counter++;
      if (call < p.prkCount) {
        // Runge-Kutta warm-up: four evaluations per step, all transferred from the step's start.
        const phase = call % 4;
        const prevT = tCall - (call % 2 ? 0 : Math.floor(p.ratio / 2));
        const [cs, ce] = transfer(p.timesteps[Math.floor(call / 4) * 4]!, prevT);
        if (phase === 0) {
          const slot = ets.advance(x);
          if (arena.run(PRK_FIRST, [x, out, slot, acc, cur], [px, po, q, cs, ce, SIXTH])) return;
          for (let j = 0; j < len; j++) {
            const xv = x[j]!;
            const e = (px * xv + po * out[j]!) * q;
            slot[j] = e;
            acc[j] = e * SIXTH;
            cur[j] = xv;
            x[j] = cs * xv - ce * e;
          }
        } else if (phase < 3) {
          if (arena.run(PRK_MID, [x, out, acc, cur], [px, po, q, cs, ce, THIRD])) return;
          for (let j = 0; j < len; j++) {
            const e = (px * x[j]! + po * out[j]!) * q;
            acc[j] = acc[j]! + e * THIRD;
            x[j] = cs * cur[j]! - ce * e;
          }
        } else {
          if (arena.run(PRK_LAST, [x, out, acc, cur], [px, po, q, cs, ce, SIXTH])) return;
          for (let j = 0; j < len; j++) {
            const e = (px * x[j]! + po * out[j]!) * q;
            x[j] = cs * cur[j]! - ce * (acc[j]! + e * SIXTH);
          }
        }
      } else {
        // Linear multistep (Adams-Bashforth on eps). The second call of a run without warm-up
        // redoes the first step with the average of both outputs.
        let t = tCall;
        let prevT = t - p.ratio;
        const restart = call === 1;
        if (restart) {
          prevT = t;
          t = t + p.ratio;
        }
        const olds = Array.from({ length: Math.min(ets.length, 3) }, (_, k) => ets.at(k + 1));
        const count = restart ? ets.length : ets.length + 1;
        let w: number[];
        if (count === 1 && call === 0) w = [1];
        else if (count === 1) w = [0.5, 0.5];
        else if (count === 2) w = [1.5, -0.5];
        else if (count === 3) w = [23 / 12, -16 / 12, 5 / 12];
        else w = [55 / 24, -59 / 24, 37 / 24, -9 / 24];
        const slot = restart ? acc : ets.advance(x);
        const from = restart ? cur : x;
        const [cs, ce] = transfer(t, prevT);
        const [e1, e2, e3] = [olds[0] ?? out, olds[1] ?? out, olds[2] ?? out];
        const [w0, w1, w2, w3] = [w[0]!, w[1] ?? 0, w[2] ?? 0, w[3] ?? 0];
        const saveStart = call === 0;
        const kernelArrays = [x, out, slot, cur, from, e1, e2, e3];
        const kernelScalars = [px, po, q, cs, ce, w0, w1, w2, w3];
        if (arena.run(saveStart ? PLMS_SAVE : PLMS, kernelArrays, kernelScalars)) return;
        for (let j = 0; j < len; j++) {
          const xv = x[j]!;
          const e = (px * xv + po * out[j]!) * q;
          const comb = w0 * e + w1 * e1[j]! + w2 * e2[j]! + w3 * e3[j]!;
          if (saveStart) cur[j] = xv;
          slot[j] = e;
          x[j] = cs * from[j]! - ce * comb;
        }
      }
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

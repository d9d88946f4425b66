// Timestep plans of the three diffusers families, reproduced exactly (numpy rounding included).
import { arange, linspace, roundHalfEven } from "@fccf/core";

export type Spacing = "linspace" | "leading" | "trailing";
export const SPACINGS: readonly Spacing[] = ["linspace", "leading", "trailing"];

function checkSteps(name: string, steps: number, T: number): void {
  if (steps > T) throw new RangeError(`${name}: ${steps} steps exceed the ${T} training timesteps`);
}

function checkRange(name: string, ts: number[], T: number): number[] {
  for (const t of ts) {
    if (!(t >= 0 && t <= T - 1)) {
      throw new RangeError(
        `${name}: timestep ${t} falls outside [0, ${T - 1}] (check stepsOffset and the step count)`,
      );
    }
  }
  return ts;
}

/** DDIM / DDPM / PNDM: n integer timesteps, descending. */
export function discreteTimesteps(
  name: string,
  spacing: Spacing,
  n: number,
  T: number,
  offset: number,
): number[] {
  checkSteps(name, n, T);
  let ts: number[];
  if (spacing === "linspace")
    ts = linspace(0, T - 1, n)
      .map(roundHalfEven)
      .reverse();
  else if (spacing === "leading") {
    const ratio = Math.floor(T / n);
    ts = Array.from({ length: n }, (_, i) => i * ratio + offset).reverse();
  } else ts = arange(T, 0, -T / n).map((t) => roundHalfEven(t) - 1);
  return checkRange(name, ts, T);
}

/**
 * DPM-Solver / DEIS / UniPC: n integer timesteps from n+1 grid points minus the last, descending;
 * `last` is the exclusive upper end (T, or less when lambda is clipped).
 */
export function solverTimesteps(
  name: string,
  spacing: Spacing,
  n: number,
  T: number,
  offset: number,
  last = T,
): number[] {
  checkSteps(name, n, T);
  let ts: number[];
  if (spacing === "linspace")
    ts = linspace(0, last - 1, n + 1)
      .map(roundHalfEven)
      .reverse()
      .slice(0, n);
  else if (spacing === "leading") {
    const ratio = Math.floor(last / (n + 1));
    ts = Array.from({ length: n + 1 }, (_, i) => i * ratio + offset)
      .reverse()
      .slice(0, n);
  } else ts = arange(last, 0, -T / n).map((t) => roundHalfEven(t) - 1);
  return checkRange(name, ts, T);
}

/** Euler / Heun / KDPM2 / LMS: n float timesteps (linspace ones are fractional), descending. */
export function karrasTimesteps(
  name: string,
  spacing: Spacing,
  n: number,
  T: number,
  offset: number,
): number[] {
  checkSteps(name, n, T);
  let ts: number[];
  if (spacing === "linspace") ts = linspace(0, T - 1, n).reverse();
  else if (spacing === "leading") {
    const ratio = Math.floor(T / n);
    ts = Array.from({ length: n }, (_, i) => roundHalfEven(i * ratio) + offset).reverse();
  } else ts = arange(T, 0, -T / n).map((t) => roundHalfEven(t) - 1);
  return checkRange(name, ts, T);
}

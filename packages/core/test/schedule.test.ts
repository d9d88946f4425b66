import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { NoiseSchedule, vpScales } from "../src/schedule.js";

const FIXTURES = fileURLToPath(new URL("../../../../shared/fixtures/samplers/", import.meta.url));
const table = (name: string) =>
  JSON.parse(readFileSync(`${FIXTURES}alphas_cumprod_${name}.json`, "utf8")) as {
    alphas_cumprod: number[];
    sigma_table: number[];
  };

describe("NoiseSchedule", () => {
  it.each([
    ["linear", {}],
    ["scaled_linear", { betaSchedule: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012 }],
    ["squaredcos_cap_v2", { betaSchedule: "squaredcos_cap_v2" }],
  ] as const)("%s matches the reference alphas_cumprod and sigma tables", (name, config) => {
    const ref = table(name);
    const s = NoiseSchedule.fromConfig(config);
    expect(s.numTrainTimesteps).toBe(1000);
    for (let t = 0; t < 1000; t++) {
      expect(Math.abs(s.alphasCumprod[t]! - ref.alphas_cumprod[t]!) / ref.alphas_cumprod[t]!).toBeLessThan(
        1e-14,
      );
      expect(Math.abs(s.sigmas[t]! - ref.sigma_table[t]!) / ref.sigma_table[t]!).toBeLessThan(1e-14);
    }
  });

  it("interpolates sigma linearly in t and derives alpha, sigma_vp and lambda from it", () => {
    const s = NoiseSchedule.fromConfig({ betaSchedule: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012 });
    const mid = (s.sigmas[499]! + s.sigmas[500]!) / 2;
    expect(s.sigmaAt(499.5)).toBeCloseTo(mid, 14);
    const abar = s.alphaCumprodAt(499.5);
    expect(abar).toBeCloseTo(1 / (1 + mid * mid), 14);
    expect(s.alphaAt(499.5) ** 2 + s.vpSigmaAt(499.5) ** 2).toBeCloseTo(1, 14);
    expect(s.lambdaAt(499.5)).toBeCloseTo(-Math.log(mid), 12);
    // Integer t reads the table exactly; t outside the range clamps to the ends.
    expect(s.alphaCumprodAt(10)).toBe(s.alphasCumprod[10]);
    expect(s.sigmaAt(-3)).toBe(s.sigmas[0]);
    expect(s.sigmaAt(1e6)).toBe(s.sigmas[999]);
  });

  it("maps a sigma back to its fractional timestep (log-sigma interpolation)", () => {
    const s = NoiseSchedule.fromConfig();
    expect(s.timestepOfSigma(s.sigmas[321]!)).toBeCloseTo(321, 10);
    const geo = Math.sqrt(s.sigmas[100]! * s.sigmas[101]!);
    expect(s.timestepOfSigma(geo)).toBeCloseTo(100.5, 10);
    expect(s.timestepOfSigma(1e-9)).toBe(0);
    expect(s.timestepOfSigma(1e9)).toBe(999);
  });

  it("round-trips through an alphas_cumprod table and raw betas", () => {
    const a = NoiseSchedule.fromConfig({ betaSchedule: "squaredcos_cap_v2" });
    const b = NoiseSchedule.fromAlphasCumprod(a.alphasCumprod);
    expect(Array.from(b.sigmas)).toEqual(Array.from(a.sigmas));
    const c = NoiseSchedule.fromConfig({ trainedBetas: a.betas });
    for (let t = 0; t < 1000; t++) expect(c.alphasCumprod[t]).toBe(a.alphasCumprod[t]);
  });

  it("rejects bad configs with the reason", () => {
    expect(() => NoiseSchedule.fromConfig({ betaSchedule: "cubic" as never })).toThrow(
      "unknown beta schedule 'cubic' (known: linear, scaled_linear, squaredcos_cap_v2)",
    );
    expect(() => NoiseSchedule.fromConfig({ trainedBetas: [0.1, 0.2], numTrainTimesteps: 3 })).toThrow(
      /has 2 values/,
    );
    expect(() => NoiseSchedule.fromConfig({ trainedBetas: [0.1, 1.5], numTrainTimesteps: 2 })).toThrow(
      /beta\[1\] = 1.5/,
    );
    expect(() => NoiseSchedule.fromAlphasCumprod([0.9, 0])).toThrow(/alphas_cumprod\[1\] = 0/);
  });

  it("vpScales converts a VE level to alpha and sigma with alpha^2 + sigma^2 = 1", () => {
    const { alpha, sigma } = vpScales(3);
    expect(alpha).toBeCloseTo(1 / Math.sqrt(10), 15);
    expect(sigma / alpha).toBeCloseTo(3, 14);
  });
});

import { describe, expect, it } from "vitest";
import {
  parsePrediction,
  predictionFrom,
  predictionToEpsilon,
  predictionToX0,
  vePredictionToX0,
} from "../src/denoiser.js";
import { lin2, lin3, lin4, lin5, linN, maxAbsDiff } from "../src/ops.js";

describe("Denoiser parameterisations", () => {
  const x0 = Float64Array.from([0.4, -1.2, 0.9]);
  const eps = Float64Array.from([-0.3, 0.8, 1.7]);
  const alpha = 0.8;
  const sigma = 0.6;
  const xt = x0.map((v, i) => alpha * v + sigma * eps[i]!);

  it.each(["epsilon", "sample", "v_prediction"] as const)("%s converts back to x0 and eps", (p) => {
    const out = predictionFrom(p, x0, eps, alpha, sigma, new Float64Array(3));
    expect(maxAbsDiff(predictionToX0(p, out, xt, alpha, sigma, new Float64Array(3)), x0)).toBeLessThan(1e-15);
    expect(
      maxAbsDiff(predictionToEpsilon(p, out.slice(), xt, alpha, sigma, new Float64Array(3)), eps),
    ).toBeLessThan(1e-15);
    // The VE form: state y = x / alpha at level s = sigma / alpha gives the same x0.
    const y = xt.map((v) => v / alpha);
    expect(maxAbsDiff(vePredictionToX0(p, out, y, sigma / alpha, new Float64Array(3)), x0)).toBeLessThan(
      1e-14,
    );
  });

  it("converts in place", () => {
    const out = predictionFrom("v_prediction", x0, eps, alpha, sigma, new Float64Array(3));
    predictionToX0("v_prediction", out, xt, alpha, sigma, out);
    expect(maxAbsDiff(out, x0)).toBeLessThan(1e-15);
  });

  it("parses short names and rejects unknown ones", () => {
    expect(["eps", "x0", "v", "epsilon", "sample", "v_prediction"].map(parsePrediction)).toEqual([
      "epsilon",
      "sample",
      "v_prediction",
      "epsilon",
      "sample",
      "v_prediction",
    ]);
    expect(() => parsePrediction("noise")).toThrow(/unknown prediction type 'noise'/);
  });
});

describe("elementwise kernels", () => {
  const a = Float32Array.from([1, 2, 3]);
  const b = Float32Array.from([4, 5, 6]);
  const c = Float32Array.from([-1, 0, 1]);
  it("combine linearly, also in place", () => {
    expect(Array.from(lin2(new Float32Array(3), 2, a, -1, b))).toEqual([-2, -1, 0]);
    expect(Array.from(lin3(new Float32Array(3), 1, a, 1, b, 2, c))).toEqual([3, 7, 11]);
    expect(Array.from(lin4(new Float32Array(3), 1, a, 1, b, 1, c, 1, a))).toEqual([5, 9, 13]);
    expect(Array.from(lin5(new Float32Array(3), 1, a, 1, b, 1, c, 1, a, -1, b))).toEqual([1, 4, 7]);
    const x = a.slice();
    lin2(x, 0.5, x, 1, b);
    expect(Array.from(x)).toEqual([4.5, 6, 7.5]);
    const y = a.slice();
    linN(y, [1, 1, 1, 1, 1, 1], [y, b, c, a, b, c]);
    expect(Array.from(y)).toEqual([8, 14, 20]);
  });
  it("reject mismatched lengths", () => {
    expect(() => lin2(new Float32Array(2), 1, a, 1, b)).toThrow(/length mismatch/);
  });
});

import { describe, expect, it } from "vitest";
import {
  arange,
  interpOnGrid,
  lerpHalf,
  linspace,
  roundHalfEven,
  sigmaToTimestep,
  torchLinspace,
} from "../src/numeric.js";

describe("numpy-exact helpers", () => {
  it("rounds halves to even like numpy", () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 499.5, 2.4, 2.6].map(roundHalfEven)).toEqual([
      0, 2, 2, -0, -2, 500, 2, 3,
    ]);
  });

  it("linspace/arange reproduce numpy's values", () => {
    expect(linspace(0, 999, 11).map(roundHalfEven)).toEqual([
      0, 100, 200, 300, 400, 500, 599, 699, 799, 899, 999,
    ]);
    expect(linspace(0, 1, 1)).toEqual([0]);
    expect(arange(1000, 0, -1000 / 3).map(roundHalfEven)).toEqual([1000, 667, 333]);
    expect(arange(0, 1, 0.25)).toEqual([0, 0.25, 0.5, 0.75]);
    const t = torchLinspace(0.0001, 0.02, 1000);
    expect(t[0]).toBe(0.0001);
    expect(t[999]).toBe(0.02);
  });

  it("interpolates on the integer grid and clamps outside", () => {
    const fp = [1, 3, 7];
    expect([
      interpOnGrid(0.5, fp),
      interpOnGrid(1.25, fp),
      interpOnGrid(-1, fp),
      interpOnGrid(5, fp),
    ]).toEqual([2, 4, 1, 7]);
  });

  it("sigmaToTimestep inverts log-linear interpolation", () => {
    const logs = [Math.log(1), Math.log(2), Math.log(8)];
    expect(sigmaToTimestep(4, logs)).toBeCloseTo(1.5, 14);
    expect(sigmaToTimestep(Math.SQRT2, logs)).toBeCloseTo(0.5, 14);
  });

  it("lerpHalf evaluates like torch.lerp(start, end, 0.5), including -inf ends", () => {
    expect(lerpHalf(1, 3)).toBe(2);
    expect(lerpHalf(Number.NEGATIVE_INFINITY, 0)).toBe(Number.NEGATIVE_INFINITY);
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { warpPlane, warpPlaneCubic } from "../src/warp.js";

const ref = JSON.parse(readFileSync(new URL("./fixtures/warp-reference.json", import.meta.url), "utf8")) as {
  width: number;
  height: number;
  img: number[];
  dx: number[];
  dy: number[];
  out: number[];
};

describe("warpPlane", () => {
  it("matches PyTorch grid_sample (bilinear, border, align_corners) on a random field", () => {
    const out = warpPlane(
      Float32Array.from(ref.img),
      Float32Array.from(ref.dx),
      Float32Array.from(ref.dy),
      ref.width,
      ref.height,
    );
    for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - ref.out[i]!)).toBeLessThan(2e-6);
  });
  it("is the identity for zero flow and an exact shift for integer flow", () => {
    const w = 5;
    const h = 3;
    const img = Float32Array.from({ length: w * h }, (_, i) => i);
    const zero = new Float32Array(w * h);
    expect(Array.from(warpPlane(img, zero, zero, w, h))).toEqual(Array.from(img));
    const one = new Float32Array(w * h).fill(1);
    const shifted = warpPlane(img, one, zero, w, h);
    // out(x, y) = img(x + 1, y), the last column clamps to the border.
    expect(Array.from(shifted.subarray(0, w))).toEqual([1, 2, 3, 4, 4]);
  });
  it("rejects mismatched planes", () => {
    expect(() => warpPlane(new Float32Array(4), new Float32Array(4), new Float32Array(3), 2, 2)).toThrow(
      /2x2 = 4/,
    );
  });
});

describe("warpPlaneCubic", () => {
  const w = 12;
  const h = 10;
  const at = (f: (x: number, y: number) => number) =>
    Float32Array.from({ length: w * h }, (_, i) => f(i % w, Math.floor(i / w)));
  const fill = (v: number) => new Float32Array(w * h).fill(v);

  it("is the identity for zero flow and an exact shift for integer flow", () => {
    const img = at((x, y) => (x * 7 + y * 3) % 11);
    expect(Array.from(warpPlaneCubic(img, fill(0), fill(0), w, h))).toEqual(Array.from(img));
    const out = warpPlaneCubic(img, fill(2), fill(-1), w, h);
    // out(x, y) = img(x + 2, y - 1), clamped at the border
    for (let y = 1; y < h; y++)
      for (let x = 0; x + 2 < w; x++) expect(out[y * w + x]).toBeCloseTo(img[(y - 1) * w + x + 2]!, 5);
  });

  it("reproduces a quadratic at fractional shifts inside (bilinear does not)", () => {
    const f = (x: number, y: number) => 0.03 * x * x - 0.02 * x * y + 0.05 * y * y + 0.1 * x;
    const img = at(f);
    const out = warpPlaneCubic(img, fill(0.37), fill(-0.61), w, h);
    const lin = warpPlane(img, fill(0.37), fill(-0.61), w, h);
    let worstCubic = 0;
    let worstLinear = 0;
    for (let y = 2; y < h - 2; y++)
      for (let x = 2; x < w - 2; x++) {
        const want = f(x + 0.37, y - 0.61);
        worstCubic = Math.max(worstCubic, Math.abs(out[y * w + x]! - want));
        worstLinear = Math.max(worstLinear, Math.abs(lin[y * w + x]! - want));
      }
    expect(worstCubic).toBeLessThan(1e-5);
    expect(worstLinear).toBeGreaterThan(5e-3);
  });

  it("rejects mismatched planes", () => {
    expect(() => warpPlaneCubic(new Float32Array(4), new Float32Array(4), new Float32Array(3), 2, 2)).toThrow(
      /2x2 = 4/,
    );
  });
});

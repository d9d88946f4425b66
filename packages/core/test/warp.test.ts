import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { warpPlane } from "../src/warp.js";

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

import { SeededNoise } from "@fccf/core";
import { describe, expect, it } from "vitest";
import { rgbToYCbCr, yCbCrToRgb } from "../src/colour.js";
import { fromPlanes, roundHalfEven, toPlanes } from "../src/image.js";
import { estimateNoise } from "../src/noise.js";
import { crop, paddedSize, padReflect } from "../src/padding.js";
import { planChannels } from "../src/plan.js";

function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 8) / 16777216;
  }
  return out;
}

describe("colour", () => {
  it("maps JPEG reference colours", () => {
    const [y, cb, cr] = rgbToYCbCr([
      new Float32Array([1, 0, 0]),
      new Float32Array([0, 1, 0]),
      new Float32Array([0, 0, 1]),
    ]);
    // red, green, blue in JPEG YCbCr (8-bit scale)
    expect(y[0]! * 255).toBeCloseTo(76.245, 3);
    expect(cb[0]! * 255).toBeCloseTo(84.97, 2);
    expect(cr[0]! * 255).toBeCloseTo(255.5, 2);
    expect(y[1]! * 255).toBeCloseTo(149.685, 3);
    expect(cb[2]! * 255).toBeCloseTo(255.5, 2);
    expect(cr[2]! * 255).toBeCloseTo(107.2653, 3);
  });
  it("round-trips RGB through YCbCr", () => {
    const rgb = [rand(1000, 1), rand(1000, 2), rand(1000, 3)];
    const back = yCbCrToRgb(rgbToYCbCr(rgb));
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < 1000; i++) expect(Math.abs(back[c]![i]! - rgb[c]![i]!)).toBeLessThan(2e-6);
  });
});

describe("raster <-> planes", () => {
  it("round-trips 8- and 16-bit data exactly", () => {
    const d8 = new Uint8Array(4 * 3 * 3).map((_, i) => (i * 37) % 256);
    const img8 = { width: 4, height: 3, channels: 3 as const, bitDepth: 8 as const, data: d8 };
    expect(Array.from(fromPlanes(toPlanes(img8)).data)).toEqual(Array.from(d8));
    const d16 = new Uint16Array(5 * 2).map((_, i) => (i * 6553 + 1) % 65536);
    const img16 = { width: 5, height: 2, channels: 1 as const, bitDepth: 16 as const, data: d16 };
    const back = fromPlanes(toPlanes(img16));
    expect(back.bitDepth).toBe(16);
    expect(Array.from(back.data)).toEqual(Array.from(d16));
  });
  it("drops alpha and rejects inconsistent buffers", () => {
    const rgba = {
      width: 1,
      height: 1,
      channels: 4 as const,
      bitDepth: 8 as const,
      data: new Uint8Array([10, 20, 30, 0]),
    };
    expect(toPlanes(rgba).planes.length).toBe(3);
    expect(() => toPlanes({ ...rgba, data: new Uint8Array(3) })).toThrow(/3 samples for 1x1x4/);
    expect(() => toPlanes({ ...rgba, bitDepth: 16 })).toThrow(/Uint16Array/);
  });
  it("clamps out-of-range floats and rounds ties to even when quantising", () => {
    const img = fromPlanes({
      width: 3,
      height: 1,
      bitDepth: 8,
      planes: [new Float32Array([-0.2, 0.5, 1.3])],
    });
    expect(Array.from(img.data)).toEqual([0, 128, 255]);
    expect([0.5, 1.5, 2.5, -0.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, -0, 2, 3]);
  });
});

describe("padding", () => {
  it("reflects without repeating the edge and crops back", () => {
    const p = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]); // 3x3
    const padded = padReflect(p, 3, 3, 5, 4);
    expect(Array.from(padded)).toEqual([1, 2, 3, 2, 1, 4, 5, 6, 5, 4, 7, 8, 9, 8, 7, 4, 5, 6, 5, 4]);
    expect(Array.from(crop(padded, 5, 3, 3))).toEqual(Array.from(p));
  });
  it("replicates the edge where the padding is as large as the image (PyTorch's reflect limit)", () => {
    const p = new Float32Array([1, 2, 3, 4, 5, 6]); // 3x2, padded by 2 rows
    expect(Array.from(padReflect(p, 3, 2, 3, 4))).toEqual([1, 2, 3, 4, 5, 6, 4, 5, 6, 4, 5, 6]);
    expect(paddedSize(481, 16)).toBe(496);
    expect(paddedSize(480, 16)).toBe(480);
  });
});

describe("channel plans", () => {
  const w = 8;
  const h = 4;
  const n = w * h;
  const colour = { width: w, height: h, bitDepth: 8 as const, planes: [rand(n, 4), rand(n, 5), rand(n, 6)] };
  const grey = { width: w, height: h, bitDepth: 8 as const, planes: [rand(n, 7)] };

  it("y: fuses luma and keeps the colour source's chroma", () => {
    const job = planChannels("y", colour, grey);
    expect(job.pairs.map((p) => p.label)).toEqual(["Y"]);
    // Fusing to a's own luma gives a back.
    const out = job.assemble([job.pairs[0]!.a], new Float32Array(n).fill(1), (p) => p);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < n; i++) expect(out.planes[c]![i]).toBeCloseTo(colour.planes[c]![i]!, 5);
  });
  it("full-colour: three pairs, each against the grey source, in the task's a/b order", () => {
    const job = planChannels("full-colour", grey, colour);
    expect(job.pairs.map((p) => p.label)).toEqual(["Y", "Cb", "Cr"]);
    for (const p of job.pairs) expect(p.a).toBe(grey.planes[0]);
    const out = job.assemble(
      job.pairs.map((p) => p.b),
      new Float32Array(n),
      (p) => p,
    );
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < n; i++) expect(out.planes[c]![i]).toBeCloseTo(colour.planes[c]![i]!, 5);
  });
  it("both-colour: chroma follows the mask", () => {
    const other = {
      width: w,
      height: h,
      bitDepth: 8 as const,
      planes: [rand(n, 8), rand(n, 9), rand(n, 10)],
    };
    const job = planChannels("both-colour", colour, other);
    const allA = job.assemble([job.pairs[0]!.a], new Float32Array(n).fill(1), (p) => p);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < n; i++) expect(allA.planes[c]![i]).toBeCloseTo(colour.planes[c]![i]!, 3);
    const allB = job.assemble([job.pairs[0]!.b], new Float32Array(n).fill(0), (p) => p);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < n; i++) expect(allB.planes[c]![i]).toBeCloseTo(other.planes[c]![i]!, 3);
  });
  it("y with a grey A and a colour B takes B's chroma through the registration", () => {
    const job = planChannels("y", grey, colour);
    let aligned = 0;
    const [, cb] = rgbToYCbCr(colour.planes);
    const out = job.assemble([grey.planes[0]!], new Float32Array(n), (p) => {
      aligned++;
      return p;
    });
    expect(aligned).toBe(2);
    const [, cbOut] = rgbToYCbCr(out.planes);
    for (let i = 0; i < n; i++) expect(cbOut[i]).toBeCloseTo(cb[i]!, 5);
  });
  it("grey + grey gives grey; mismatched sizes are an error", () => {
    const job = planChannels("full-colour", grey, grey);
    expect(job.pairs.length).toBe(1);
    expect(job.assemble([grey.planes[0]!], new Float32Array(n), (p) => p).planes.length).toBe(1);
    expect(() => planChannels("y", grey, { ...grey, width: 4, height: 8 })).toThrow(
      /differ in size: 8x4 and 4x8/,
    );
  });
});

describe("estimateNoise", () => {
  // smooth shading with a hard-edged block and a black (clipped) band, as the Python test builds it
  function scene(w: number, h: number, sigma: number, seed: number, channels: 1 | 3 = 1) {
    const noise = new SeededNoise(seed);
    const draw = new Float64Array(1);
    const data = new Uint8Array(w * h * channels);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < channels; c++) {
          let v = 60 + 0.3 * x + 0.2 * y + 40 * Math.sin(x / 23) * Math.cos(y / 31) + 20 * c;
          if (y >= 60 && y < 140 && x >= 80 && x < 200) v += 50;
          if (x < 40) v = 0;
          else if (sigma > 0) {
            noise.fill(draw);
            v += sigma * (c + 1) * draw[0]!;
          }
          data[(y * w + x) * channels + c] = Math.min(255, Math.max(0, Math.round(v)));
        }
    return { width: w, height: h, channels, bitDepth: 8 as const, data };
  }

  it.each([5, 15, 25])("reads the std of added Gaussian noise %i within 8%", (sigma) => {
    expect(Math.abs(estimateNoise(scene(320, 240, sigma, sigma)) / sigma - 1)).toBeLessThan(0.08);
  });

  it("reads a clean image near 0, and flat, saturated or tiny images as 0", () => {
    expect(estimateNoise(scene(320, 240, 0, 1))).toBeLessThan(1);
    const flat = (v: number, w = 50, h = 50) => ({
      width: w,
      height: h,
      channels: 1 as const,
      bitDepth: 8 as const,
      data: new Uint8Array(w * h).fill(v),
    });
    expect(estimateNoise(flat(120))).toBe(0);
    expect(estimateNoise(flat(255))).toBe(0); // every neighbourhood clipped: nothing to read
    expect(estimateNoise(flat(120, 9, 2))).toBe(0);
  });

  it("averages the colour channels and reads 16-bit images in 8-bit units", () => {
    // channel c carries noise of std 6 (c + 1): mean 12
    const rgb = scene(320, 240, 6, 3, 3);
    expect(Math.abs(estimateNoise(rgb) / 12 - 1)).toBeLessThan(0.08);
    const grey = scene(320, 240, 10, 4);
    const wide = { ...grey, bitDepth: 16 as const, data: Uint16Array.from(grey.data, (v) => v * 257) };
    expect(estimateNoise(wide)).toBeCloseTo(estimateNoise(grey), 9);
  });
});

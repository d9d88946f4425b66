import { describe, expect, it } from "vitest";
import { fft2, filterInFrequency, freqOfBin } from "../src/internal/fft.js";

/** Direct O(N^2) 2-D DFT as the known answer. */
function naiveDft2(re: Float64Array, im: Float64Array, w: number, h: number): [Float64Array, Float64Array] {
  const or = new Float64Array(w * h);
  const oi = new Float64Array(w * h);
  for (let v = 0; v < h; v++) {
    for (let u = 0; u < w; u++) {
      let sr = 0;
      let si = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const a = -2 * Math.PI * ((u * x) / w + (v * y) / h);
          const c = Math.cos(a);
          const s = Math.sin(a);
          sr += re[y * w + x]! * c - im[y * w + x]! * s;
          si += re[y * w + x]! * s + im[y * w + x]! * c;
        }
      }
      or[v * w + u] = sr;
      oi[v * w + u] = si;
    }
  }
  return [or, oi];
}

describe("fft2", () => {
  // Powers of two, mixed radices (2, 3, 4, 5, 7) and primes that go through Bluestein.
  for (const [w, h] of [
    [16, 8],
    [12, 10],
    [15, 7],
    [97, 3],
    [43, 8],
    [1, 5],
  ] as const) {
    it(`matches the direct DFT for ${w}x${h} and inverts`, () => {
      const re = Float64Array.from({ length: w * h }, (_, i) => Math.sin(i * 1.7) * 100 + (i % 7));
      const im = Float64Array.from({ length: w * h }, (_, i) => Math.cos(i * 0.3) * 10);
      const [er, ei] = naiveDft2(re, im, w, h);
      const r = Float64Array.from(re);
      const m = Float64Array.from(im);
      fft2(r, m, w, h, false);
      let err = 0;
      for (let i = 0; i < w * h; i++) err = Math.max(err, Math.abs(r[i]! - er[i]!), Math.abs(m[i]! - ei[i]!));
      expect(err).toBeLessThan(1e-9 * w * h);
      fft2(r, m, w, h, true);
      for (let i = 0; i < w * h; i++) {
        expect(r[i]! / (w * h)).toBeCloseTo(re[i]!, 9);
        expect(m[i]! / (w * h)).toBeCloseTo(im[i]!, 9);
      }
    });
  }

  it("filters with the identity and with a pure DC response", () => {
    const w = 10;
    const h = 6;
    const img = Float64Array.from({ length: w * h }, (_, i) => (i * 37) % 256);
    const same = filterInFrequency(img, w, h, () => 1);
    for (let i = 0; i < img.length; i++) expect(same[i]).toBeCloseTo(img[i]!, 10);
    const mean = img.reduce((s, x) => s + x, 0) / img.length;
    const dc = filterInFrequency(img, w, h, (fy, fx) => (fx === 0 && fy === 0 ? 1 : 0));
    for (let i = 0; i < img.length; i++) expect(dc[i]).toBeCloseTo(mean, 10);
  });

  it("uses MATLAB freqspace coordinates", () => {
    // freqspace(n) = ((0:n-1) - floor(n/2)) * 2/n, laid out unshifted.
    expect([0, 1, 2, 3].map((k) => freqOfBin(k, 4))).toEqual([0, 0.5, -1, -0.5]);
    expect([0, 1, 2, 3, 4].map((k) => freqOfBin(k, 5))).toEqual([0, 0.4, 0.8, -0.8, -0.4]);
  });
});

describe("dct2", () => {
  it("equals the orthonormal DCT-II by definition and is exactly zero off DC for constant images", async () => {
    const { dct2 } = await import("../src/tang/fmi.js");
    for (const [w, h] of [
      [8, 5],
      [7, 9],
      [13, 1],
    ] as const) {
      const d = Float64Array.from({ length: w * h }, (_, i) => ((i * 53) % 97) - 20);
      const got = dct2({ w, h, d });
      for (let v = 0; v < h; v++) {
        for (let u = 0; u < w; u++) {
          let s = 0;
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) {
              s +=
                d[y * w + x]! *
                Math.cos((Math.PI * (2 * x + 1) * u) / (2 * w)) *
                Math.cos((Math.PI * (2 * y + 1) * v) / (2 * h));
            }
          }
          const want =
            s *
            (u === 0 ? Math.sqrt(1 / w) : Math.sqrt(2 / w)) *
            (v === 0 ? Math.sqrt(1 / h) : Math.sqrt(2 / h));
          expect(got[v * w + u]).toBeCloseTo(want, 10);
        }
      }
    }
    const flat = dct2({ w: 32, h: 24, d: new Float64Array(32 * 24).fill(125) });
    expect(flat.subarray(1).every((x) => x === 0)).toBe(true);
    expect(flat[0]).toBeCloseTo(125 * Math.sqrt(32 * 24), 9);
  });
});

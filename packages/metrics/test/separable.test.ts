import { describe, expect, it } from "vitest";
import { gaussianTaps } from "../src/internal/filters.js";
import { boxSumValid, filterValid, Scratch } from "../src/internal/separable.js";
import { wasmPass } from "../src/internal/wasm-pass.js";

/** Direct 2-D 'valid' correlation with g (x) g as the known answer. */
function direct(src: Float64Array, w: number, h: number, g: Float64Array, step: number): Float64Array {
  const k = g.length;
  const ow = Math.floor((w - k) / step) + 1;
  const oh = Math.floor((h - k) / step) + 1;
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < k; i++)
        for (let j = 0; j < k; j++) s += src[(y * step + i) * w + x * step + j]! * g[i]! * g[j]!;
      out[y * ow + x] = s;
    }
  }
  return out;
}

describe("separable filtering", () => {
  const w = 45;
  const h = 38;
  const src = Float64Array.from({ length: w * h }, (_, i) => ((i * 7919) % 256) + (i % 3) * 0.25);

  it("WebAssembly SIMD is available in Node 20", () => {
    expect(wasmPass()).not.toBeNull();
  });

  for (const n of [3, 5, 9, 11, 17, 31, 7]) {
    it(`${n} taps: matches the direct 2-D filter, and the WebAssembly and JavaScript paths agree bit for bit`, () => {
      const g = gaussianTaps(n, n / 5);
      for (const step of [1, 2]) {
        const want = direct(src, w, h, g, step);
        const viaWasm = new Float64Array(want.length);
        const viaJs = new Float64Array(want.length);
        filterValid(src, w, h, g, step, viaWasm, new Scratch(), true);
        filterValid(src, w, h, g, step, viaJs, new Scratch(), false);
        expect(Array.from(viaWasm)).toEqual(Array.from(viaJs));
        for (let i = 0; i < want.length; i++) expect(viaJs[i]).toBeCloseTo(want[i]!, 9);
      }
    });
  }

  it("box sums are exact for integer images", () => {
    const img = Float64Array.from({ length: w * h }, (_, i) => (i * 31) % 256);
    const out = new Float64Array((w - 6) * (h - 6));
    boxSumValid(img, w, h, 7, out, new Scratch());
    const ones = new Float64Array(7).fill(1);
    expect(Array.from(out)).toEqual(Array.from(direct(img, w, h, ones, 1)));
  });
});

describe("ensureMemory", () => {
  it("grows when possible and reports failure instead of throwing", async () => {
    const { ensureMemory } = await import("../src/internal/wasm-asm.js");
    const capped = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    expect(ensureMemory(capped, 1000)).toBe(true);
    expect(ensureMemory(capped, 2 * 65536)).toBe(true);
    expect(capped.buffer.byteLength).toBe(2 * 65536);
    expect(ensureMemory(capped, 3 * 65536)).toBe(false);
  });
});

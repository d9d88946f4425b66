import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { decodePng } from "../src/conformance/png.js";
import { qabf, qabfJs } from "../src/internal/qabf.js";
import { wasmQabf } from "../src/internal/wasm-qabf.js";
import { toTriple } from "../src/plane.js";

const CASES = resolve(import.meta.dirname, "../../../../shared/fixtures/metrics/cases");

function noise(w: number, h: number, seed: number, flat = false) {
  let s = seed;
  const data = new Uint8Array(w * h);
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = flat && i % 5 < 3 ? 100 : (s >>> 16) % 256;
  }
  return { data, width: w, height: h };
}

describe("Qabf WebAssembly kernel", () => {
  it("is available in Node 20", () => {
    expect(wasmQabf()).not.toBeNull();
  });

  it("agrees with the JavaScript implementation to 1e-13 (odd and even widths, flat areas, VIFB scale)", () => {
    for (const [w, h, seed] of [
      [17, 9, 1],
      [32, 20, 2],
      [3, 3, 3],
      [1, 6, 4],
      [40, 31, 5],
    ] as const) {
      for (const flat of [false, true]) {
        const [a, b, f] = toTriple(
          noise(w, h, seed, flat),
          noise(w, h, seed + 10),
          noise(w, h, seed + 20, flat),
        );
        for (const scale of [1, 255]) {
          const js = qabfJs(a, b, f, scale);
          const wasm = qabf(a, b, f, scale);
          expect(Math.abs(wasm - js), `${w}x${h} flat=${flat} scale=${scale}`).toBeLessThanOrEqual(
            1e-13 * Math.abs(js),
          );
        }
      }
    }
  });

  it.skipIf(!existsSync(CASES))("agrees on a 640x480 fixture triple", () => {
    const p = (s: string) => {
      const x = decodePng(readFileSync(`${CASES}/mff_110_640_lap4_${s}.png`), s);
      return { data: x.data, width: x.width, height: x.height };
    };
    const [a, b, f] = toTriple(p("A"), p("B"), p("F"));
    const js = qabfJs(a, b, f, 1);
    // 300k-term sums in a different order (two SIMD lanes): ~1e-13 relative.
    expect(Math.abs(qabf(a, b, f, 1) - js)).toBeLessThanOrEqual(1e-12 * js);
  });
});

describe("SSIM WebAssembly kernel", () => {
  it("agrees with the JavaScript implementation (odd/even sizes, integer and fractional data)", async () => {
    const { ssimSkimage, ssimSkimageJs } = await import("../src/cddfuse/ssim.js");
    const { wasmSsim } = await import("../src/internal/wasm-ssim.js");
    expect(wasmSsim()).not.toBeNull();
    for (const [w, h] of [
      [7, 7],
      [8, 9],
      [21, 13],
      [64, 56],
    ] as const) {
      for (const frac of [0, 0.37]) {
        const x = {
          w,
          h,
          d: Float64Array.from({ length: w * h }, (_, i) => ((i * 7919) % 256) + frac * (i % 3)),
        };
        const y = { w, h, d: Float64Array.from({ length: w * h }, (_, i) => (i * 104729) % 256) };
        const js = ssimSkimageJs(x, y);
        expect(Math.abs(ssimSkimage(x, y) - js), `${w}x${h}`).toBeLessThanOrEqual(
          1e-12 * Math.max(1, Math.abs(js)),
        );
      }
    }
  });
});

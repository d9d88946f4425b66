import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { decodePng } from "../src/conformance/png.js";
import { vifMulti } from "../src/internal/vif.js";
import { toTriple } from "../src/plane.js";

const CASES = resolve(import.meta.dirname, "../../../../shared/fixtures/metrics/cases");

function image(w: number, h: number, seed: number, flat: boolean) {
  let s = seed;
  const data = new Uint8Array(w * h);
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const x = i % w;
    // flat blocks exercise the s1, s2 < eps clamps; inverted ramps give negative g
    data[i] =
      flat && x < w / 3 ? 77 : seed % 2 ? 255 - ((x * 3 + (s >>> 20)) % 256) : (x * 3 + (s >>> 20)) % 256;
  }
  return { data, width: w, height: h };
}

describe("VIF WebAssembly path", () => {
  it("is bit-identical to the JavaScript path, both conventions", () => {
    for (const [w, h] of [
      [64, 64],
      [71, 57],
      [97, 61],
    ] as const) {
      for (const flat of [false, true]) {
        const [a, b, f] = toTriple(image(w, h, 1, flat), image(w, h, 2, flat), image(w, h, 3, false));
        for (const mode of ["scipy", "matlab"] as const) {
          expect(vifMulti([a, b], f, mode, true, true)).toEqual(vifMulti([a, b], f, mode, true, false));
        }
      }
    }
  });

  it.skipIf(!existsSync(CASES))("is bit-identical on a 640x480 fixture triple", () => {
    const p = (s: string) => {
      const x = decodePng(readFileSync(`${CASES}/mef_336_640_lap4_${s}.png`), s);
      return { data: x.data, width: x.width, height: x.height };
    };
    const [a, b, f] = toTriple(p("A"), p("B"), p("F"));
    expect(vifMulti([a, b], f, "scipy", true, true)).toEqual(vifMulti([a, b], f, "scipy", true, false));
  });
});

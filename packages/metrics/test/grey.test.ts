import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { decodePng } from "../src/conformance/png.js";
import { rgbToGrey, rgbToGreyOpenCV } from "../src/index.js";

describe("rgbToGrey", () => {
  it("rounds BT.601 luma of primaries and clips", () => {
    const img = {
      data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]),
      width: 4,
      height: 1,
      channels: 3 as const,
    };
    expect(Array.from(rgbToGrey(img).data)).toEqual([76, 150, 29, 255]);
    expect(Array.from(rgbToGreyOpenCV(img).data)).toEqual([76, 150, 29, 255]);
  });

  it("passes grey through, drops alpha, keeps 16-bit samples", () => {
    expect(
      Array.from(
        rgbToGrey({ data: Uint8Array.from([9, 200, 7, 100]), width: 2, height: 1, channels: 2 }).data,
      ),
    ).toEqual([9, 7]);
    const g16 = rgbToGrey({
      data: Uint16Array.from([65535, 65535, 65535, 0, 0, 65535]),
      width: 2,
      height: 1,
      channels: 3,
    });
    expect(g16.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(g16.data)).toEqual([65535, Math.round(0.114 * 65535)]);
  });

  it("rejects a buffer that does not match the size", () => {
    expect(() => rgbToGrey({ data: new Uint8Array(5), width: 2, height: 1, channels: 3 })).toThrow(
      /image data has 5 samples, expected 2x1x3 = 6/,
    );
  });

  const data = resolve(import.meta.dirname, "../../../../shared/data/test/VI-IR/vi");
  it.skipIf(!existsSync(data))(
    "agrees with OpenCV's fixed-point conversion to within one level on real photos",
    () => {
      let pixels = 0;
      let differ = 0;
      let maxDiff = 0;
      for (const name of readdirSync(data).slice(0, 4)) {
        const png = decodePng(readFileSync(join(data, name)), name);
        if (png.channels < 3 || png.bitDepth !== 8) continue;
        const img = { data: png.data, width: png.width, height: png.height, channels: png.channels };
        const a = rgbToGrey(img).data;
        const b = rgbToGreyOpenCV(img).data;
        for (let i = 0; i < a.length; i++) {
          const d = Math.abs(a[i]! - b[i]!);
          if (d > maxDiff) maxDiff = d;
          if (d !== 0) differ++;
        }
        pixels += a.length;
      }
      expect(pixels).toBeGreaterThan(0);
      expect(maxDiff).toBeLessThanOrEqual(1);
      // Documented in the README: the two differ by one grey level on a few percent of pixels at most.
      expect(differ / pixels).toBeLessThan(0.05);
    },
  );
});

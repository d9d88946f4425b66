import { describe, expect, it } from "vitest";
import { rasterFromImageData, rasterToRgba } from "../src/raster.js";

describe("canvas pixels <-> raster", () => {
  it("detects grey canvases and round-trips", () => {
    const grey = { width: 2, height: 1, data: new Uint8ClampedArray([7, 7, 7, 255, 200, 200, 200, 128]) };
    const r = rasterFromImageData(grey);
    expect(r.channels).toBe(1);
    expect(Array.from(r.data)).toEqual([7, 200]);
    expect(Array.from(rasterToRgba(r))).toEqual([7, 7, 7, 255, 200, 200, 200, 255]);
  });
  it("keeps colour and reduces 16-bit to 8-bit", () => {
    const colour = { width: 1, height: 1, data: new Uint8ClampedArray([1, 2, 3, 255]) };
    const r = rasterFromImageData(colour);
    expect(r.channels).toBe(3);
    expect(Array.from(r.data)).toEqual([1, 2, 3]);
    const r16 = {
      width: 1,
      height: 1,
      channels: 1 as const,
      bitDepth: 16 as const,
      data: new Uint16Array([65535]),
    };
    expect(Array.from(rasterToRgba(r16))).toEqual([255, 255, 255, 255]);
  });
});

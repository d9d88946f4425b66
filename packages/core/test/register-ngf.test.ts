// registerNgf against the Python reference (training/fccf_train/ngf_register.py) and known shifts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AUTO_MIN_SHIFT_PX, preRegistrationMoves, registerNgf, warpPlane } from "../src/index.js";

const fix = JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "register-ngf.json"), "utf8")) as {
  width: number;
  height: number;
  a: number[];
  b: number[];
  stride: number;
  dx: number[];
  dy: number[];
  true_dx: number[];
  true_dy: number[];
};

function sampled(flow: Float32Array, w: number, h: number, stride: number): [number[], number[]] {
  const dx: number[] = [];
  const dy: number[] = [];
  for (let y = 0; y < h; y += stride)
    for (let x = 0; x < w; x += stride) {
      dx.push(flow[y * w + x]!);
      dy.push(flow[w * h + y * w + x]!);
    }
  return [dx, dy];
}

function scene(w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = 0.5 + 0.25 * Math.sin(x / 5) * Math.cos(y / 7) + 0.15 * Math.sign(Math.sin(x / 11 + y / 13));
      out[y * w + x] = Math.round(v * 255) / 255;
    }
  return out;
}

describe("registerNgf", () => {
  it("reproduces the Python reference on a misaligned crop of the MEF sample", () => {
    const { width: w, height: h } = fix;
    const flow = registerNgf(
      fix.a.map((v) => v / 255),
      fix.b.map((v) => v / 255),
      w,
      h,
    );
    const [dx, dy] = sampled(flow, w, h, fix.stride);
    let worst = 0;
    for (let i = 0; i < dx.length; i++)
      worst = Math.max(worst, Math.abs(dx[i]! - fix.dx[i]!), Math.abs(dy[i]! - fix.dy[i]!));
    expect(worst).toBeLessThan(2e-6); // float64 throughout; the output is float32
    // and it is a registration: the error to the true field is well below the misalignment
    let before = 0;
    let after = 0;
    for (let i = 0; i < dx.length; i++) {
      before += Math.hypot(fix.true_dx[i]!, fix.true_dy[i]!);
      after += Math.hypot(dx[i]! - fix.true_dx[i]!, dy[i]! - fix.true_dy[i]!);
    }
    expect(after).toBeLessThan(0.7 * before);
  });

  it("recovers a known shift, also with inverted contrast, and gives ~0 for an aligned pair", () => {
    const w = 128;
    const h = 96;
    const a = scene(w, h);
    // b(p + (3, -2)) = a(p): warp a by the inverse shift
    const inv = [new Float32Array(w * h).fill(-3), new Float32Array(w * h).fill(2)] as const;
    const b = warpPlane(a, inv[0], inv[1], w, h);
    for (const src of [b, b.map((v) => 1 - v)]) {
      const flow = registerNgf(a, src, w, h);
      // compare away from the border, where the shifted image has real content
      let err = 0;
      let count = 0;
      for (let y = 8; y < h - 8; y++)
        for (let x = 8; x < w - 8; x++) {
          err += Math.hypot(flow[y * w + x]! - 3, flow[w * h + y * w + x]! + 2);
          count++;
        }
      expect(err / count).toBeLessThan(0.3);
    }
    const still = registerNgf(a, a, w, h);
    expect(Math.max(...still.map(Math.abs))).toBeLessThan(0.5);
  });

  it("rejects planes of the wrong size and tiny images", () => {
    expect(() => registerNgf(new Float32Array(10), new Float32Array(10), 4, 4)).toThrow(
      /must have 4x4 values/,
    );
    expect(() => registerNgf(new Float32Array(64), new Float32Array(64), 8, 8)).toThrow(/at least 16x16/);
  });
});

describe("preRegistrationMoves", () => {
  it("is true from a mean displacement of AUTO_MIN_SHIFT_PX on", () => {
    const w = 10;
    const h = 8;
    const flow = new Float32Array(2 * w * h);
    expect(preRegistrationMoves(flow, w, h)).toBe(false);
    // half the pixels at 2 * threshold along dy, the rest still: mean exactly the threshold
    for (let i = 0; i < (w * h) / 2; i++) flow[w * h + i] = 2 * AUTO_MIN_SHIFT_PX;
    expect(preRegistrationMoves(flow, w, h)).toBe(true);
    flow[w * h] = 2 * AUTO_MIN_SHIFT_PX - 0.25;
    expect(preRegistrationMoves(flow, w, h)).toBe(false);
  });
});

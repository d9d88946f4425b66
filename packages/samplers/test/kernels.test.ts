import type { FloatArray } from "@fccf/core";
import { createSampler, NoiseSchedule, SeededNoise } from "@fccf/core";
import { afterEach, describe, expect, it } from "vitest";
import { clamp } from "../src/common.js";
import { fixtureMean, GaussianModel } from "../src/index.js";
import { Arena, Kernel, setWasmKernels, wasmKernelsActive } from "../src/kernels/kernel.js";
import { parseKernel } from "../src/kernels/parse.js";

const slin = NoiseSchedule.fromConfig({ betaSchedule: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012 });
// Not a multiple of the kernels' 4 elements per iteration: the padded tail is exercised too.
const N = 1003;
const mu = fixtureMean(N);

afterEach(() => setWasmKernels(true));

const bytes = (a: FloatArray) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");

/**
 * Every step's model input and state bytes of a run from seeded noise, with the kernels on or off,
 * stepping with step + scaleModelInput or with the fused stepAndScale.
 */
function trajectory(
  name: string,
  config: Record<string, unknown>,
  wasm: boolean,
  f64: boolean,
  fused = false,
): string[] {
  setWasmKernels(wasm);
  const sampler = createSampler(name, slin, config);
  const run = sampler.plan(10);
  const x: FloatArray = f64 ? new Float64Array(N) : new Float32Array(N);
  new SeededNoise(7).fill(x);
  for (let i = 0; i < N; i++) x[i] = x[i]! * run.initNoiseSigma;
  const model = new GaussianModel(slin.sigmas, mu, 0.5, sampler.prediction);
  const noise = new SeededNoise(8);
  const states: string[] = [];
  let input: FloatArray | undefined = run.scaleModelInput(x);
  while (input) {
    states.push(bytes(input));
    const out = model.evaluate(input, run.timestep, f64 ? new Float64Array(N) : new Float32Array(N));
    if (fused) {
      input = run.stepAndScale(out, x, noise);
    } else {
      run.step(out, x, noise);
      input = run.done ? undefined : run.scaleModelInput(x);
    }
    states.push(bytes(x));
  }
  return states;
}

// Every kernel of every sampler: orders, algorithm variants, clipping, noise, all parameterisations.
const cases: [string, Record<string, unknown>][] = [
  ["ddim", { clipSample: false }],
  ["ddim", {}],
  ["ddim", { eta: 1 }],
  ["ddim", { eta: 0.5, clipSample: false }],
  ["ddpm", {}],
  ["ddpm", { clipSample: false, varianceType: "fixed_large" }],
  ...[1, 2, 3].flatMap((solverOrder): [string, Record<string, unknown>][] => [
    ["dpm-solver++", { solverOrder }],
    ["dpm-solver++", { solverOrder, solverType: "heun" }],
    ["dpm-solver", { solverOrder }],
    ["sde-dpm-solver++", { solverOrder }],
    ["dpm-solver-singlestep", { solverOrder }],
    ["deis", { solverOrder }],
    ["unipc", { solverOrder }],
    ["unipc", { solverOrder, solverType: "bh1", predictX0: false }],
    ["unipc", { solverOrder, disableCorrector: [2, 3] }],
  ]),
  ["dpm-solver++", { algorithmType: "sde-dpmsolver", finalSigmasType: "sigma_min" }],
  ["dpm-solver++", { algorithmType: "sde-dpmsolver", solverType: "heun", finalSigmasType: "sigma_min" }],
  ["dpm-solver-singlestep", { solverOrder: 3, algorithmType: "dpmsolver", finalSigmasType: "sigma_min" }],
  ["euler", {}],
  ["euler", { sChurn: 2 }],
  ["euler-ancestral", {}],
  ["heun", {}],
  ["heun", { clipSample: true }],
  ["kdpm2", {}],
  ["lms", {}],
  ["lms", { lmsOrder: 2 }],
  ["pndm", {}],
  ["pndm", { skipPrkSteps: true }],
];
const predictions = ["epsilon", "sample", "v_prediction"];

describe("WebAssembly kernels", () => {
  it("are active on this engine (Node 20 has WebAssembly SIMD)", () => {
    expect(wasmKernelsActive()).toBe(true);
  });

  it.each(cases.map(([name, config]) => [`${name} ${JSON.stringify(config)}`, name, config] as const))(
    "%s: every model input and step is bit-identical to the JavaScript loops, fused or not (float32 and float64)",
    (_label, name, config) => {
      for (const predictionType of predictions) {
        for (const f64 of [false, true]) {
          const c = { ...config, predictionType };
          const js = trajectory(name, c, false, f64);
          for (const [wasm, fused] of [
            [true, false],
            [true, true],
            [false, true],
          ] as const) {
            const other = trajectory(name, c, wasm, f64, fused);
            expect(other.length).toBe(js.length);
            for (let s = 0; s < js.length; s++) {
              if (other[s] !== js[s]) {
                expect.fail(`${predictionType} f64=${f64} wasm=${wasm} fused=${fused}: entry ${s} differs`);
              }
            }
          }
        }
      }
    },
  );

  it("stay bit-identical once V8 has optimised them (aliased history slots, many runs)", () => {
    // V8 optimises a hot wasm function in the background; an earlier code generator lost the
    // order of a load and an aliasing store only in the optimised code.
    const js = trajectory("unipc", { solverOrder: 3 }, false, false);
    for (let r = 0; r < 40; r++) {
      const wasm = trajectory("unipc", { solverOrder: 3 }, true, false);
      for (let s = 0; s < js.length; s++) if (wasm[s] !== js[s]) expect.fail(`run ${r}: entry ${s} differs`);
    }
  });

  it("evaluate the expression tree JavaScript evaluates (precedence, left associativity, unary minus)", () => {
    const k = new Kernel(
      "a b out",
      "s",
      "t = a - b - s * a / b; out = -t * -a + abs(b - 1.5) - 2e-1 + min(max(a, 0.5), 2) * max(b, 0.4);",
    );
    const a = Float64Array.from({ length: 9 }, (_, i) => 0.1 + i * 0.37);
    const b = Float64Array.from({ length: 9 }, (_, i) => 1.3 - i * 0.21);
    const out = new Float64Array(9);
    expect(new Arena(0).run(k, [a, b, out], [0.7])).toBe(true);
    for (let i = 0; i < 9; i++) {
      const t = a[i]! - b[i]! - (0.7 * a[i]!) / b[i]!;
      const clamped = Math.min(Math.max(a[i]!, 0.5), 2) * Math.max(b[i]!, 0.4);
      expect(out[i]).toBe(-t * -a[i]! + Math.abs(b[i]! - 1.5) - 0.2 + clamped);
    }
  });

  it("keep arena arrays in place and copy outside arrays in and out; the same array may be passed twice", () => {
    const arena = new Arena(1);
    const x = Float32Array.from({ length: 5 }, (_, i) => i + 0.5);
    const acc = arena.array(0, x);
    acc.fill(1);
    const k = new Kernel("x y acc", "c", "acc = acc + c * x * y; x = x + y;");
    expect(arena.run(k, [x, x, acc], [0.25])).toBe(true);
    expect(Array.from(x)).toEqual([1, 3, 5, 7, 9]);
    expect(Array.from(acc)).toEqual([0.5, 1.5, 2.5, 3.5, 4.5].map((v) => 1 + 0.25 * v * v));
    expect(arena.array(0, x)).toBe(acc);
  });

  it("clamp in the loops and min/max in the kernels agree on every edge value (NaN, signed zeros, infinities)", () => {
    const e = Float64Array.from([
      Number.NaN,
      -0,
      0,
      -2,
      2,
      0.5,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
    const k = new Kernel("e out", "lo hi", "out = min(max(e, lo), hi);");
    for (const [lo, hi] of [
      [-1, 1],
      [-0, 0],
      [0, 0],
      [-0.25, 3],
    ] as const) {
      const out = new Float64Array(e.length);
      expect(new Arena(0).run(k, [e, out], [lo, hi])).toBe(true);
      for (let i = 0; i < e.length; i++) {
        const want = clamp(e[i]!, lo, hi);
        if (!Object.is(out[i], want))
          expect.fail(`clamp(${e[i]}, ${lo}, ${hi}): kernel ${out[i]}, loop ${want}`);
      }
    }
    expect([clamp(-3, -1, 1), clamp(3, -1, 1), clamp(0.3, -1, 1)]).toEqual([-1, 1, 0.3]);
  });

  it("reuse a stored value for a later read of the same name, unless another written name is that array", () => {
    const k = new Kernel("x y out", "", "x = x * 2; y = x + 0.25; out = x;");
    const x = Float32Array.from([1, 2, 3, 4, 5]);
    const y = new Float32Array(5);
    const out = new Float32Array(5);
    expect(new Arena(0).run(k, [x, y, out], [])).toBe(true);
    expect(Array.from(out)).toEqual([2, 4, 6, 8, 10]);
    expect(Array.from(y)).toEqual([2.25, 4.25, 6.25, 8.25, 10.25]);
    // y is x: the loop reads x after y's store, which registers would not see.
    expect(new Arena(0).run(k, [x, x, out], [])).toBe(false);
    // Float32 rounding of the stored value is kept: 1/3 stored as float32, read back, times 3.
    const r = new Kernel("x out", "", "x = x / 3; out = x * 3;");
    const a = Float32Array.from([1, 1, 1, 1, 1]);
    const b = new Float32Array(5);
    expect(new Arena(0).run(r, [a, b], [])).toBe(true);
    expect(b[0]).toBe(Math.fround(Math.fround(1 / 3) * 3));
  });

  it("leave partly overlapping views and mixed element types to the JavaScript loop", () => {
    const buf = new Float32Array(10);
    const k = new Kernel("x y", "", "y = x;");
    expect(new Arena(0).run(k, [new Float64Array(3), new Float32Array(3)], [])).toBe(false);
    expect(new Arena(0).run(k, [buf.subarray(0, 8), buf.subarray(2, 10)], [])).toBe(false);
    expect(new Arena(0).run(k, [buf.subarray(0, 5), buf.subarray(5, 10)], [])).toBe(true);
  });

  it("all compiled: no kernel of the runs above failed to compile (which would turn them all off)", () => {
    expect(wasmKernelsActive()).toBe(true);
  });

  it("reject malformed kernels and mismatched operands with specific messages", () => {
    expect(() => parseKernel(["x"], [], "x = y;")).toThrow(/unknown name 'y'/);
    expect(() => parseKernel(["x"], ["s"], "s = x;")).toThrow(/cannot assign the scalar 's'/);
    expect(() => parseKernel(["x"], [], "x = (x + 1;")).toThrow(/expected '\)'/);
    expect(() => parseKernel(["x"], [], "t = t + x;")).toThrow(/unknown name 't'/);
    const k = new Kernel("x y", "", "y = x;");
    expect(() => new Arena(0).run(k, [new Float32Array(3)], [])).toThrow(/given 1 arrays/);
    expect(() => new Arena(0).run(k, [new Float32Array(3), new Float32Array(4)], [])).toThrow(
      /differ in length \(4 vs 3\)/,
    );
    expect(() => new Arena(1).array(1, new Float32Array(3))).toThrow(/outside its capacity 1/);
  });
});

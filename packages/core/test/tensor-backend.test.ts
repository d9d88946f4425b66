import { describe, expect, it } from "vitest";
import { FunctionBackend } from "../src/backend.js";
import { clone, sizeOf, tensor, zeros } from "../src/tensor.js";

describe("tensor", () => {
  it("checks sizes", () => {
    expect(sizeOf([2, 3, 4])).toBe(24);
    expect(() => tensor(new Float32Array(5), [2, 3])).toThrow(/5 elements but shape \[2, 3\] needs 6/);
    expect(() => sizeOf([2, -1])).toThrow(/invalid dimension/);
    const z = zeros([1, 2], "float64");
    expect(z.data).toBeInstanceOf(Float64Array);
    const c = clone(tensor(new Float32Array([1, 2]), [2]));
    c.data[0] = 5;
    expect(c.dims).toEqual([2]);
  });
});

describe("FunctionBackend", () => {
  const backend = new FunctionBackend({
    double: {
      inputs: ["x"],
      outputs: ["y"],
      fn: ({ x }) => ({
        y: tensor(
          Float32Array.from(x!.data as Float32Array, (v) => 2 * v),
          x!.dims,
        ),
      }),
    },
  });
  it("runs a registered function", async () => {
    const m = await backend.load("double");
    const out = await m.run({ x: tensor(new Float32Array([1, -2, 3]), [3]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([2, -4, 6]);
  });
  it("reports missing models and inputs", async () => {
    await expect(backend.load("nope")).rejects.toThrow(/no model named 'nope'/);
    const m = await backend.load("double");
    await expect(m.run({})).rejects.toThrow(/needs input 'x'/);
  });
});

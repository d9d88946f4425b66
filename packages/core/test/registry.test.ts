import { describe, expect, it } from "vitest";
import { option, resolveOptions } from "../src/options.js";
import { SamplerRegistry } from "../src/registry.js";
import type { PlanData, SamplerPlugin } from "../src/sampler.js";
import { NoiseSchedule } from "../src/schedule.js";

// A minimal real sampler (DDIM with eta = 0 on x0 predictions) to exercise the plugin API without
// the built-ins: the registry must accept any plugin that implements the interface.
const options = { scale: option.number(1, "unused scale", { min: 0 }) };
const ddimX0: SamplerPlugin<typeof options> = {
  name: "ddim-x0",
  aliases: ["DDIMX0"],
  description: "deterministic DDIM on x0 predictions",
  options,
  space: "VP",
  order: () => 1,
  stochastic: () => false,
  plan(schedule, _c, steps): PlanData {
    const ts = Array.from({ length: steps }, (_, i) =>
      Math.round(((steps - 1 - i) * 999) / Math.max(1, steps - 1)),
    );
    return { timesteps: ts, levels: [...ts.map((t) => schedule.sigmas[t]!), 0], initNoiseSigma: 1 };
  },
  start(_schedule, _c, p) {
    return {
      step(out, x, i) {
        const [s, sn] = [p.levels[i]!, p.levels[i + 1]!];
        const a = 1 / Math.sqrt(1 + s * s);
        const an = 1 / Math.sqrt(1 + sn * sn);
        for (let j = 0; j < x.length; j++) {
          const eps = (x[j]! - a * out[j]!) / (s * a);
          x[j] = an * out[j]! + sn * an * eps;
        }
      },
    };
  },
};

describe("SamplerRegistry", () => {
  it("registers and finds a plugin by name or alias, case-insensitively", () => {
    const reg = new SamplerRegistry();
    reg.register(ddimX0);
    reg.register(ddimX0); // same object again: no-op
    expect(reg.get("ddimx0")).toBe(ddimX0);
    expect(reg.get("DDIM-X0")).toBe(ddimX0);
    expect(reg.has("ddim-x0")).toBe(true);
    expect(reg.list()).toEqual([ddimX0]);
  });

  it("creates samplers whose runs reach the data for a perfect x0 model", () => {
    const reg = new SamplerRegistry();
    reg.register(ddimX0);
    const run = reg.create("DDIMX0", NoiseSchedule.fromConfig()).plan(5);
    const x = Float64Array.from([0.3, -2, 1]);
    const target = Float64Array.from([0.5, 0.25, -0.75]);
    while (!run.done) run.step(target, x);
    expect(Array.from(x)).toEqual(Array.from(target));
    expect(() => run.timestep).toThrow(/the run is complete/);
  });

  it("explains unknown names and conflicting aliases", () => {
    const reg = new SamplerRegistry();
    expect(() => reg.get("x")).toThrow(
      "unknown sampler 'x' (known: none registered; did you import @fccf/samplers?)",
    );
    reg.register(ddimX0);
    expect(() => reg.register({ ...ddimX0, name: "other", aliases: ["ddimx0"] })).toThrow(
      "sampler name 'ddimx0' is already registered by 'ddim-x0'",
    );
  });
});

describe("resolveOptions", () => {
  const specs = {
    order: option.number(2, "order", { integer: true, min: 1, max: 3 }),
    kind: option.oneOf(["a", "b"], "a", "kind"),
    flag: option.bool(false, "flag"),
    clip: option.number(Number.NEGATIVE_INFINITY, "clip", { allowNegInfinity: true }),
    skip: option.indexList([], "skip"),
  };
  it("fills defaults and keeps valid values", () => {
    expect(resolveOptions("s", specs, { order: 3, clip: "-Infinity", skip: [0, 2] })).toEqual({
      order: 3,
      kind: "a",
      flag: false,
      clip: Number.NEGATIVE_INFINITY,
      skip: [0, 2],
    });
  });
  it("names the sampler, the option and the accepted values", () => {
    expect(() => resolveOptions("s", specs, { order: 2.5 })).toThrow(
      "option 'order' of sampler 's' must be an integer >= 1 <= 3, got 2.5",
    );
    expect(() => resolveOptions("s", specs, { kind: "c" })).toThrow('must be one of a|b, got "c"');
    expect(() => resolveOptions("s", specs, { flag: "yes" })).toThrow("must be true or false");
    expect(() => resolveOptions("s", specs, { skip: [-1] })).toThrow("a list of non-negative integers");
    expect(() => resolveOptions("s", specs, { bogus: 1 })).toThrow(
      "unknown option 'bogus' for sampler 's' (known options: order, kind, flag, clip, skip)",
    );
  });
});

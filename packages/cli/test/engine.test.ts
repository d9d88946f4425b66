// The engine on a JavaScript model with known behaviour: checks the composite path, the
// hierarchical stage conditions, determinism and the image-level plan handling.
import {
  adaptStages,
  denoiseStrengthFor,
  dominance,
  FunctionBackend,
  FusionEngine,
  type NamedTensors,
  parseCard,
  SeededNoise,
  warpPlane,
} from "@fccf/core";
import "@fccf/samplers";
import { estimateNoise, fuseImages } from "@fccf/tasks";
import { describe, expect, it } from "vitest";

const graphIO = (names: string[]) =>
  names.map((name) => ({ name, type: "float32", shape: ["N", 1, "H", "W"] }));

function card(
  viIr: Record<string, unknown> = {},
  root: Record<string, unknown> = {},
): ReturnType<typeof parseCard> {
  return parseCard({
    ...root,
    contract: "fccf-model/1",
    name: "analytic-test",
    graphs: {
      encoder: {
        file: "encoder",
        inputs: [
          { name: "cond", type: "float32", shape: ["N", 2, "H", "W"] },
          { name: "task", type: "int64", shape: ["N"] },
        ],
        outputs: graphIO(["feat0", "comp", "mask", "flow"]),
      },
      denoiser: {
        file: "denoiser",
        inputs: graphIO(["x_t", "t", "feat0", "comp"]),
        outputs: graphIO(["x0"]),
      },
    },
    schedule: {
      beta_schedule: "linear",
      beta_start: 1e-4,
      beta_end: 0.02,
      num_train_timesteps: 1000,
      prediction_type: "sample",
    },
    sampler: { name: "dpmsolver++", default_steps: 6 },
    input_multiple: 8,
    tasks: [
      {
        id: 0,
        name: "VI-IR",
        source_a: "vi",
        source_b: "ir",
        plan: "y",
        strategy: "max",
        stages: { hi: 0.8, lo: 0.2 },
        default_strength: 0.5,
        ...viIr,
      },
      {
        id: 3,
        name: "MED-SPECT",
        source_a: "MRI",
        source_b: "SPECT",
        plan: "full-colour",
        strategy: "max",
        stages: { hi: 0.8, lo: 0.2 },
        default_strength: 0,
      },
    ],
  });
}

/**
 * Encoder: mask 0.25 everywhere, flow (dx, dy) = (1, 0), comp = m*a + (1-m)*warp(b); feat0 = cond.
 * Denoiser: x0 = comp + k * (x_t - comp) (k = 0 is a perfect denoiser of the composite).
 */
function backend(k: number, log: { conds: Float32Array[]; ts: number[]; tasks: number[] }) {
  return new FunctionBackend({
    encoder: {
      inputs: ["cond", "task"],
      outputs: ["feat0", "comp", "mask", "flow"],
      fn: ({ cond, task }): NamedTensors => {
        const [n, , h, w] = cond!.dims as number[];
        const c = cond!.data as Float32Array;
        log.conds.push(c.slice());
        log.tasks.push(...Array.from(task!.data as BigInt64Array, Number));
        const hw = h! * w!;
        const comp = new Float32Array(n! * hw);
        const mask = new Float32Array(n! * hw).fill(0.25);
        const flow = new Float32Array(n! * 2 * hw);
        for (let i = 0; i < n!; i++) {
          flow.fill(1, 2 * i * hw, (2 * i + 1) * hw);
          const a = c.subarray(2 * i * hw, (2 * i + 1) * hw);
          const b = warpPlane(
            c.slice((2 * i + 1) * hw, (2 * i + 2) * hw),
            flow.subarray(2 * i * hw, (2 * i + 1) * hw),
            new Float32Array(hw),
            w!,
            h!,
          );
          for (let j = 0; j < hw; j++) comp[i * hw + j] = 0.25 * a[j]! + 0.75 * b[j]!;
        }
        const dims4 = (ch: number) => [n!, ch, h!, w!];
        return {
          feat0: { data: c, dims: dims4(2) },
          comp: { data: comp, dims: dims4(1) },
          mask: { data: mask, dims: dims4(1) },
          flow: { data: flow, dims: dims4(2) },
        };
      },
    },
    denoiser: {
      inputs: ["x_t", "t", "feat0", "comp"],
      outputs: ["x0"],
      fn: ({ x_t, t, comp }): NamedTensors => {
        log.ts.push((t!.data as Float32Array)[0]!);
        const x = x_t!.data as Float32Array;
        const c = comp!.data as Float32Array;
        return { x0: { data: x.map((v, i) => c[i]! + k * (v - c[i]!)), dims: x_t!.dims } };
      },
    },
  });
}

async function engine(k: number, viIr: Record<string, unknown> = {}, root: Record<string, unknown> = {}) {
  const log = { conds: [] as Float32Array[], ts: [] as number[], tasks: [] as number[] };
  const c = card(viIr, root);
  return { engine: await FusionEngine.load(c, backend(k, log), async (f) => f), log };
}

/** A uniform 8-bit grey raster. */
/** Grey 8-bit image of value 120 plus seeded Gaussian noise of std `sigma`. */
function noisyGrey(width: number, height: number, sigma: number, seed: number) {
  const draws = new Float64Array(width * height);
  new SeededNoise(seed).fill(draws);
  const data = Uint8Array.from(draws, (d) => Math.min(255, Math.max(0, Math.round(120 + sigma * d))));
  return { width, height, channels: 1 as const, bitDepth: 8 as const, data };
}

function flatGrey(width: number, height: number) {
  return {
    width,
    height,
    channels: 1 as const,
    bitDepth: 8 as const,
    data: new Uint8Array(width * height).fill(90),
  };
}

function pair(w: number, h: number): Float32Array {
  const cond = new Float32Array(2 * w * h);
  for (let i = 0; i < w * h; i++) {
    cond[i] = Math.sin(i * 0.37);
    cond[w * h + i] = Math.cos(i * 0.11) * 0.8;
  }
  return cond;
}

describe("FusionEngine", () => {
  it("strength 0 returns the registered composite without calling the denoiser", async () => {
    const { engine: e, log } = await engine(0);
    const r = await e.fusePlanes(pair(16, 8), 1, 8, 16, {
      taskId: 0,
      stages: [0.8, 0.2],
      strength: 0,
      steps: 5,
    });
    expect(Array.from(r.fused)).toEqual(Array.from(r.composite));
    expect(log.ts).toEqual([]);
    expect(log.conds.length).toBe(1);
  });

  it("recovers the composite exactly with a perfect x0 denoiser (DPM-Solver++ keeps x_t on the path)", async () => {
    const { engine: e } = await engine(0);
    // stages [1, 0]: every step is conditioned on (A, B), whose composite the denoiser returns
    const r = await e.fusePlanes(pair(16, 8), 1, 8, 16, {
      taskId: 0,
      stages: [1, 0],
      strength: 0.6,
      steps: 8,
      seed: 3,
    });
    expect(r.stagesUsed.every((s) => s === 1)).toBe(true);
    for (let i = 0; i < r.fused.length; i++)
      expect(Math.abs(r.fused[i]! - r.composite[i]!)).toBeLessThan(1e-5);
  });

  it("switches conditions (B', B') -> (A, B) -> (A, A) by t / t_start and encodes each stage once", async () => {
    const { engine: e, log } = await engine(0.3);
    const w = 16;
    const h = 8;
    const hw = w * h;
    const cond = pair(w, h);
    const r = await e.fusePlanes(cond, 1, h, w, {
      taskId: 0,
      stages: [0.7, 0.3],
      strength: 0.5,
      steps: 10,
      seed: 1,
    });
    const tStart = Math.round(0.5 * 999);
    expect(r.timesteps[0]).toBe(tStart);
    expect(r.timesteps.length).toBe(10);
    expect(r.stagesUsed).toEqual(r.timesteps.map((t) => (t / tStart > 0.7 ? 0 : t / tStart > 0.3 ? 1 : 2)));
    expect(new Set(r.stagesUsed)).toEqual(new Set([0, 1, 2]));
    // encoder runs: (A, B) first, then (B', B') and (A, A) when first needed
    expect(log.conds.length).toBe(3);
    const bAligned = warpPlane(cond.slice(hw), new Float32Array(hw).fill(1), new Float32Array(hw), w, h);
    expect(Array.from(log.conds[1]!.subarray(0, hw))).toEqual(Array.from(bAligned));
    expect(Array.from(log.conds[1]!.subarray(hw))).toEqual(Array.from(bAligned));
    expect(Array.from(log.conds[2]!.subarray(0, hw))).toEqual(Array.from(cond.subarray(0, hw)));
    expect(Array.from(log.conds[2]!.subarray(hw))).toEqual(Array.from(cond.subarray(0, hw)));
    // the denoiser is called at the plan's times
    expect(log.ts).toEqual(r.timesteps);
  });

  it("is deterministic per seed and any registered sampler can drive it", async () => {
    const run = async (seed: number, sampler?: string) => {
      const { engine: e } = await engine(0.5);
      return (
        await e.fusePlanes(pair(16, 8), 1, 8, 16, {
          taskId: 0,
          stages: [0.8, 0.2],
          strength: 0.4,
          steps: 6,
          seed,
          sampler,
        })
      ).fused;
    };
    const a = await run(5);
    expect(Buffer.from((await run(5)).buffer).equals(Buffer.from(a.buffer))).toBe(true);
    expect(Buffer.from((await run(6)).buffer).equals(Buffer.from(a.buffer))).toBe(false);
    const ddim = await run(5, "ddim");
    expect(ddim.length).toBe(a.length);
    expect(ddim.every(Number.isFinite)).toBe(true);
  });

  it("rejects unpadded planes and bad strengths with clear messages", async () => {
    const { engine: e } = await engine(0);
    await expect(
      e.fusePlanes(new Float32Array(2 * 10 * 8), 1, 8, 10, {
        taskId: 0,
        stages: [0.8, 0.2],
        strength: 0.1,
        steps: 2,
      }),
    ).rejects.toThrow(/pad them to a multiple of 8/);
    await expect(
      e.fusePlanes(pair(16, 8), 1, 8, 16, { taskId: 0, stages: [0.8, 0.2], strength: 1.5, steps: 2 }),
    ).rejects.toThrow(/strength must be in \[0, 1\]/);
  });
});

describe("max_strength and the denoise rule", () => {
  const rule = [
    { sigma: 5, strength: 0 },
    { sigma: 20, strength: 0.01 },
  ];
  const low = { default_strength: 0, denoise: rule };

  it("the engine refuses strengths above the card's max_strength and runs those within it", async () => {
    const { engine: e, log } = await engine(0, low, { max_strength: 0.02 });
    expect(e.card.max_strength).toBe(0.02);
    await expect(
      e.fusePlanes(pair(16, 8), 1, 8, 16, { taskId: 0, stages: [0.8, 0.2], strength: 0.05, steps: 2 }),
    ).rejects.toThrow(/strength 0.05 is above model analytic-test's max_strength 0.02: .*up to t = 20/);
    const r = await e.fusePlanes(pair(16, 8), 1, 8, 16, {
      taskId: 0,
      stages: [0.8, 0.2],
      strength: 0.02,
      steps: 2,
    });
    expect(r.timesteps).toEqual([20, 10]);
    expect(log.ts).toEqual([20, 10]);
  });

  it("a card without max_strength allows every strength; the card's strengths must lie within it", () => {
    expect(card().max_strength).toBe(1);
    expect(() => card({ default_strength: 0.5 }, { max_strength: 0.02 })).toThrow(
      /tasks\[0\]\.default_strength must be in \[0, max_strength = 0.02\], got 0.5/,
    );
    const bad = (denoise: unknown) => () => card({ default_strength: 0, denoise }, { max_strength: 0.02 });
    expect(bad([{ sigma: 15, strength: 0.03 }])).toThrow(
      /tasks\[0\]\.denoise\[0\]\.strength must be in \[0, max_strength = 0.02\], got 0.03/,
    );
    expect(bad([{ sigma: 0, strength: 0.01 }])).toThrow(/tasks\[0\]\.denoise\[0\]\.sigma must be > 0/);
    expect(bad([...rule].reverse())).toThrow(
      /tasks\[0\]\.denoise must be ascending by sigma \(row 1: 5 after 20\)/,
    );
    expect(bad([])).toThrow(/tasks\[0\]\.denoise must be a non-empty list/);
    expect(() => card({ default_strength: 0 }, { max_strength: 0 })).toThrow(
      /max_strength must be in \(0, 1\]/,
    );
    expect(card(low, { max_strength: 0.02 }).tasks[0]!.denoise).toEqual(rule);
    expect(card(low).tasks[1]!.denoise).toBeUndefined();
  });

  it("denoiseStrengthFor takes the nearest level, and 0 nearer clean", () => {
    expect(denoiseStrengthFor(rule, 0.7)).toBe(0);
    expect(denoiseStrengthFor(rule, 12.4)).toBe(0);
    expect(denoiseStrengthFor(rule, 12.6)).toBe(0.01);
    expect(denoiseStrengthFor(rule, 80)).toBe(0.01);
    expect(denoiseStrengthFor([], 30)).toBe(0);
  });

  it("fuseImages({ denoise: true }) refines noisy sources by the rule and leaves clean ones", async () => {
    const { engine: e, log } = await engine(0, low, { max_strength: 0.02 });
    const clean = await fuseImages(e, flatGrey(16, 8), flatGrey(16, 8), {
      task: "VI-IR",
      denoise: true,
      steps: 2,
    });
    expect(clean.noiseSigma).toBe(0);
    expect(clean.strength).toBe(0);
    expect(log.ts).toEqual([]); // the composite: the denoiser never ran
    const noisy = noisyGrey(48, 24, 20, 7);
    const r = await fuseImages(e, flatGrey(48, 24), noisy, { task: "VI-IR", denoise: true, steps: 2 });
    expect(r.noiseSigma).toBeCloseTo(estimateNoise(noisy), 12);
    expect(r.noiseSigma!).toBeGreaterThan(15);
    expect(r.strength).toBe(0.01);
    expect(log.ts).toEqual([10, 5]);
    expect(
      (await fuseImages(e, flatGrey(16, 8), flatGrey(16, 8), { task: "VI-IR", strength: 0 })).noiseSigma,
    ).toBeUndefined();
    await expect(
      fuseImages(e, flatGrey(16, 8), flatGrey(16, 8), { task: "VI-IR", denoise: true, strength: 0.01 }),
    ).rejects.toThrow(/either a strength or denoise, not both/);
    await expect(
      fuseImages(e, flatGrey(16, 8), flatGrey(16, 8), { task: "MED-SPECT", denoise: true }),
    ).rejects.toThrow(/names no denoise rule for MED-SPECT; give a strength instead/);
  });
});

describe("adaptive stage boundaries", () => {
  it("measure which source the estimate follows and shrink that source's stage", () => {
    const w = 16;
    const h = 8;
    const hw = w * h;
    const cond = pair(w, h);
    const [a, b] = [cond.subarray(0, hw), cond.subarray(hw)];
    expect(dominance(a, a, b, w, h)).toBeGreaterThan(0.5);
    expect(dominance(b, a, b, w, h)).toBeLessThan(-0.5);
    expect(adaptStages([0.8, 0.2], 0)).toEqual([0.8, 0.2]);
    const [hiB, loB] = adaptStages([0.8, 0.2], -1); // B dominates: its (B', B') stage shrinks
    expect(hiB).toBeCloseTo(0.9, 12);
    expect(loB).toBe(0.2);
    const [hiA, loA] = adaptStages([0.8, 0.2], 1); // A dominates: its (A, A) stage shrinks
    expect(hiA).toBe(0.8);
    expect(loA).toBeCloseTo(0.1, 12);
  });
  it("run in the engine: the stage sequence follows the adapted boundaries", async () => {
    const { engine: e } = await engine(0.2);
    const r = await e.fusePlanes(pair(16, 8), 1, 8, 16, {
      taskId: 0,
      stages: [0.7, 0.3],
      strength: 0.5,
      steps: 10,
      seed: 2,
      adaptiveStages: true,
    });
    expect(r.fused.every(Number.isFinite)).toBe(true);
    for (let i = 1; i < r.stagesUsed.length; i++)
      expect(r.stagesUsed[i]!).toBeGreaterThanOrEqual(r.stagesUsed[i - 1]!);
  });
});

describe("fuseImages", () => {
  it("pads odd sizes, keeps A's chroma for the y plan and returns the mask in A's frame", async () => {
    const { engine: e, log } = await engine(0);
    const w = 13;
    const h = 7;
    const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 53) % 256);
    const grey = new Uint8Array(w * h).map((_, i) => (i * 17) % 256);
    const r = await fuseImages(
      e,
      { width: w, height: h, channels: 3, bitDepth: 8, data: rgb },
      { width: w, height: h, channels: 1, bitDepth: 8, data: grey },
      { task: "vi-ir", strength: 0 },
    );
    expect(r.image.width).toBe(w);
    expect(r.image.channels).toBe(3);
    expect(r.mask.length).toBe(w * h);
    expect(log.conds[0]!.length).toBe(2 * 16 * 8);
    expect(r.task.name).toBe("VI-IR");
  });
  it("feeds the task id of the chosen strategy, and refuses a strategy the model lacks", async () => {
    const { engine: e, log } = await engine(0, { strategies: { max: 0, mean: 8 } });
    const grey = flatGrey(8, 8);
    const byDefault = await fuseImages(e, grey, grey, { task: "VI-IR", strength: 0 });
    const mean = await fuseImages(e, grey, grey, { task: "VI-IR", strategy: "mean", strength: 0 });
    expect(log.tasks).toEqual([0, 8]);
    expect([byDefault.strategy, mean.strategy]).toEqual(["max", "mean"]);
    expect(e.card.tasks[1]!.strategies).toEqual({ max: 3 });
    await expect(fuseImages(e, grey, grey, { task: "MED-SPECT", strategy: "mean" })).rejects.toThrow(
      "model analytic-test was trained for MED-SPECT with strategy max only, not 'mean'",
    );
    expect(() => card({ strategies: { max: 8, mean: 0 } })).toThrow(
      "tasks[0].strategies.max must equal tasks[0].id (0)",
    );
    expect(() => card({ strategies: { median: 9 } })).toThrow("tasks[0].strategies key");
  });
  it("register: 'ngf' pre-registers B onto A and composes its flow with the network's", async () => {
    const { engine: e, log } = await engine(0);
    const w = 96;
    const h = 64;
    const a = new Uint8Array(w * h);
    const b = new Uint8Array(w * h);
    const tex = (x: number, y: number) =>
      Math.round(128 + 60 * Math.sin(x / 5) * Math.cos(y / 7) + 40 * Math.sign(Math.sin(x / 11 + y / 13)));
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        a[y * w + x] = tex(x, y);
        b[y * w + x] = tex(x - 3, y + 2); // b(p + (3, -2)) = a(p)
      }
    const grey = (data: Uint8Array) => ({
      width: w,
      height: h,
      channels: 1 as const,
      bitDepth: 8 as const,
      data,
    });
    const r = await fuseImages(e, grey(a), grey(b), { task: "VI-IR", strength: 0, register: "ngf" });
    expect(r.register).toBe("ngf");
    // "auto" applies the 3.6 px registration exactly as "ngf", and leaves an aligned pair as given
    const auto = await fuseImages(e, grey(a), grey(b), { task: "VI-IR", strength: 0, register: "auto" });
    expect(auto.register).toBe("ngf");
    expect(Buffer.from(auto.image.data).equals(Buffer.from(r.image.data))).toBe(true);
    expect(auto.flow).toEqual(r.flow);
    const same = await fuseImages(e, grey(a), grey(a), { task: "VI-IR", strength: 0, register: "auto" });
    const plain = await fuseImages(e, grey(a), grey(a), { task: "VI-IR", strength: 0, register: "none" });
    expect(same.register).toBe("none");
    expect(Buffer.from(same.image.data).equals(Buffer.from(plain.image.data))).toBe(true);
    // the analytic network adds a flow of (1, 0): b_aligned(p) = b(p + (1, 0) + pre(p + (1, 0)))
    let ex = 0;
    let ey = 0;
    let count = 0;
    for (let y = 10; y < h - 10; y++)
      for (let x = 10; x < w - 10; x++) {
        ex += r.flow[y * w + x]! - 4;
        ey += r.flow[w * h + y * w + x]! + 2;
        count++;
      }
    expect(Math.abs(ex / count)).toBeLessThan(0.3);
    expect(Math.abs(ey / count)).toBeLessThan(0.3);
    // the encoder saw B registered: interior of its B plane matches A's
    const cond = log.conds[0]!;
    const hw = cond.length / 2;
    const pw = hw / h;
    let diff = 0;
    for (let y = 10; y < h - 10; y++)
      for (let x = 10; x < w - 10; x++) diff += Math.abs(cond[hw + y * pw + x]! - cond[y * pw + x]!);
    expect(diff / count).toBeLessThan(0.05);
  });
  it("takes the card's per-task register default, and 'none' overrides it", async () => {
    const { engine: e } = await engine(0, { register: "ngf" });
    const grey = flatGrey(32, 32);
    expect(e.card.tasks.map((t) => t.register)).toEqual(["ngf", "none"]);
    expect((await fuseImages(e, grey, grey, { task: "VI-IR", strength: 0 })).register).toBe("ngf");
    expect((await fuseImages(e, grey, grey, { task: "VI-IR", strength: 0, register: "none" })).register).toBe(
      "none",
    );
    expect((await fuseImages(e, grey, grey, { task: "MED-SPECT", strength: 0 })).register).toBe("none");
    expect(() => card({ register: "sift" })).toThrow("tasks[0].register");
    expect(card({ register: "auto" }).tasks[0]!.register).toBe("auto");
  });
  it("runs the three full-colour pairs as one batch", async () => {
    const { engine: e, log } = await engine(0);
    const mri = new Uint8Array(8 * 8).fill(100);
    const spect = new Uint8Array(8 * 8 * 3).map((_, i) => (i % 3 === 0 ? 200 : 30));
    const r = await fuseImages(
      e,
      { width: 8, height: 8, channels: 1, bitDepth: 8, data: mri },
      { width: 8, height: 8, channels: 3, bitDepth: 8, data: spect },
      { task: "MED-SPECT" },
    );
    expect(log.conds[0]!.length).toBe(3 * 2 * 64);
    expect(r.image.channels).toBe(3);
    await expect(
      fuseImages(
        e,
        { width: 8, height: 8, channels: 1, bitDepth: 8, data: mri },
        { width: 8, height: 8, channels: 1, bitDepth: 8, data: mri },
        { task: "nope" },
      ),
    ).rejects.toThrow(/unknown task 'nope'.*known tasks: VI-IR, MED-SPECT/);
  });
});

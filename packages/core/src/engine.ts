// The hierarchical inference engine (DESIGN.md): encoder -> registered composite; then one sampler
// run from the noised composite down to zero, with the condition switching from (B', B') to (A, B)
// to (A, A) as the noise level falls. Everything model-specific comes from the card.
import type { LoadedModel, NamedTensors, TensorBackend } from "./backend.js";
import type { ModelCard } from "./card.js";
import { predictionToX0 } from "./denoiser.js";
import { createSampler, samplers } from "./registry.js";
import { type NoiseSource, SeededNoise } from "./rng.js";
import { NoiseSchedule } from "./schedule.js";
import type { Tensor, TensorData } from "./tensor.js";
import { warpPlane } from "./warp.js";

/** Conditioning stages: 0 = (B', B') (B registered onto A), 1 = (A, B), 2 = (A, A). */
export type Stage = 0 | 1 | 2;

/** Progress of a fusion, reported after each model call. */
export interface FusionProgress {
  /** What just ran. */
  phase: "encoder" | "denoiser";
  stage: Stage;
  /** Sampler steps done and planned (0 and 0 for strength 0). */
  step: number;
  steps: number;
  /** Denoiser evaluations so far (the sampler's NFE) and encoder runs so far. */
  nfe: number;
  encoderRuns: number;
}

/** Options of {@link FusionEngine.fusePlanes}. */
export interface FusePlanesOptions {
  /** Task id (the card's `tasks[].id`). */
  taskId: number;
  /** Stage boundaries (hi, lo) as fractions of the sampled range. */
  stages: readonly [number, number];
  /** Refinement strength in [0, card.max_strength]; 0 returns the registered composite. */
  strength: number;
  /** Sampler steps over the sampled range. */
  steps: number;
  /** Registered sampler name or alias. Default: the card's sampler. */
  sampler?: string;
  /** Extra sampler options (the prediction type always comes from the card). */
  samplerOptions?: Readonly<Record<string, unknown>>;
  /** Where the noise comes from: a NoiseSource, or a seed for {@link SeededNoise} (default 0). */
  noise?: NoiseSource;
  seed?: number;
  /**
   * Shrink a stage when its source dominates the running estimate (DESIGN.md, modality dominance).
   * Off by default: the card's quality tables were measured with fixed boundaries.
   */
  adaptiveStages?: boolean;
  onProgress?: (p: FusionProgress) => void;
}

/** Network planes out of {@link FusionEngine.fusePlanes}, each [N, C, H, W] flattened, values in [-1, 1]. */
export interface FusePlanesResult {
  fused: Float32Array;
  composite: Float32Array;
  mask: Float32Array;
  flow: Float32Array;
  /** Model-call times of the sampler run and the stage used at each. */
  timesteps: number[];
  stagesUsed: Stage[];
}

/**
 * Runs a model card's encoder and denoiser graphs.
 *
 * @example
 * ```ts
 * import * as ort from "onnxruntime-node";
 * import { FusionEngine, OrtBackend, parseCard } from "@fccf/core";
 * import "@fccf/samplers";
 * const card = parseCard(JSON.parse(await readFile("models/fccf-v1.json", "utf8")));
 * const engine = await FusionEngine.load(card, new OrtBackend(ort), (file) => readFile(`models/${file}`));
 * const r = await engine.fusePlanes(cond, 1, 480, 640, { taskId: 0, stages: [0.8, 0.2], strength: 0.2, steps: 6 });
 * ```
 */
export class FusionEngine {
  private readonly schedules = new Map<number, NoiseSchedule>();
  private readonly full: NoiseSchedule;

  constructor(
    readonly card: ModelCard,
    private readonly encoder: LoadedModel,
    private readonly denoiser: LoadedModel,
  ) {
    const s = card.schedule;
    this.full = NoiseSchedule.fromConfig({
      betaSchedule: s.beta_schedule,
      betaStart: s.beta_start,
      betaEnd: s.beta_end,
      numTrainTimesteps: s.num_train_timesteps,
    });
  }

  /** Loads both graphs of a card through a backend; `read` maps a graph file name to its bytes. */
  static async load(
    card: ModelCard,
    backend: TensorBackend,
    read: (file: string) => Promise<Uint8Array | string>,
  ): Promise<FusionEngine> {
    const encoder = await backend.load(await read(card.graphs.encoder.file));
    const denoiser = await backend.load(await read(card.graphs.denoiser.file));
    return new FusionEngine(card, encoder, denoiser);
  }

  async dispose(): Promise<void> {
    await this.encoder.dispose();
    await this.denoiser.dispose();
  }

  /**
   * Fuses N single-channel pairs at once. `cond` is [N, 2, H, W] in [-1, 1] (A then B per pair),
   * H and W multiples of the card's input multiple.
   */
  async fusePlanes(
    cond: Float32Array,
    n: number,
    h: number,
    w: number,
    options: FusePlanesOptions,
  ): Promise<FusePlanesResult> {
    const m = this.card.input_multiple;
    if (h % m || w % m) throw new RangeError(`planes are ${w}x${h}; pad them to a multiple of ${m}`);
    if (cond.length !== n * 2 * h * w)
      throw new RangeError(`cond has ${cond.length} values, [${n}, 2, ${h}, ${w}] needs ${n * 2 * h * w}`);
    const { strength, steps } = options;
    if (!(strength >= 0 && strength <= 1))
      throw new RangeError(`strength must be in [0, 1], got ${strength}`);
    const maxStrength = this.card.max_strength;
    if (strength > maxStrength)
      throw new RangeError(
        `strength ${strength} is above model ${this.card.name}'s max_strength ${maxStrength}: its denoiser was ` +
          `trained only up to t = ${Math.round(maxStrength * (this.card.schedule.num_train_timesteps - 1))}, ` +
          `so a larger strength gives a result it never learnt; use a strength in [0, ${maxStrength}] ` +
          "(0 for clean sources, the task's denoise strength for noisy ones)",
      );
    if (!Number.isInteger(steps) || steps < 1)
      throw new RangeError(`steps must be a positive integer, got ${steps}`);
    // Resolve the sampler before any work, so a bad name fails even when strength 0 needs none.
    const samplerName = options.sampler ?? this.card.default_sampler;
    samplers.get(samplerName);
    const hw = h * w;
    const task = new BigInt64Array(n).fill(BigInt(options.taskId));
    let encoderRuns = 0;
    const report = (p: Omit<FusionProgress, "encoderRuns">) => options.onProgress?.({ ...p, encoderRuns });

    const encode = async (c: Float32Array): Promise<NamedTensors> => {
      const out = await this.encoder.run({
        cond: { data: c, dims: [n, 2, h, w] },
        task: { data: task, dims: [n] },
      });
      encoderRuns++;
      return out;
    };
    const main = await encode(cond);
    const composite = f32(main, "comp");
    const mask = f32(main, "mask");
    const flow = f32(main, "flow");
    const T = this.card.schedule.num_train_timesteps;
    const tStart = Math.round(strength * (T - 1));
    report({ phase: "encoder", stage: 1, step: 0, steps: 0, nfe: 0 });
    if (tStart === 0)
      return { fused: composite.slice(), composite, mask, flow, timesteps: [], stagesUsed: [] };

    // The sampler spans [0, tStart] with all its steps: a schedule cut at tStart makes every
    // sampler's own spacing rule apply to the sampled range (the Python reference's plan).
    const sampler = createSampler(samplerName, this.truncated(tStart + 1), {
      ...options.samplerOptions,
      predictionType: this.card.schedule.prediction_type,
    });
    const run = sampler.plan(Math.min(steps, tStart));
    const noise = options.noise ?? new SeededNoise(options.seed ?? 0);
    const eps = new Float32Array(n * hw);
    noise.fill(eps);
    const x = run.addNoise(composite, eps, new Float32Array(n * hw)) as Float32Array;

    // B registered onto A, per pair (the (B', B') condition and the dominance measure use it).
    let aligned: Float32Array[] | undefined;
    const bAligned = (i: number) => {
      aligned ??= Array.from({ length: n }, (_, k) => warpedB(cond, flow, k, h, w));
      return aligned[i]!;
    };
    // Stage conditions, each encoded once when first needed.
    const conds: Record<Stage, () => Float32Array> = {
      0: () => this.stackPairs(n, hw, bAligned, bAligned),
      1: () => cond,
      2: () => {
        const a = (i: number) => plane(cond, 2 * i, hw);
        return this.stackPairs(n, hw, a, a);
      },
    };
    const features: Partial<Record<Stage, NamedTensors>> = { 1: main };
    const featureNames = this.card.graphs.denoiser.inputs
      .map((i) => i.name)
      .filter((name) => name !== "x_t" && name !== "t");
    const tensorT = new Float32Array(n);
    const x0 = new Float32Array(n * hw);
    let [hi, lo] = options.stages;
    const timesteps: number[] = [];
    const stagesUsed: Stage[] = [];
    const total = run.modelCalls;
    // The step also produces the next model input (one pass over the state instead of two).
    let input = run.done ? undefined : (run.scaleModelInput(x) as Float32Array);
    while (input) {
      const t = run.timestep;
      const f = t / tStart;
      // Stages only advance: adapted boundaries may move, but the condition never returns to an
      // earlier (noisier) stage.
      const stage = Math.max(stagesUsed.at(-1) ?? 0, f > hi ? 0 : f > lo ? 1 : 2) as Stage;
      if (!features[stage]) {
        features[stage] = await encode(conds[stage]());
        report({ phase: "encoder", stage, step: timesteps.length, steps: total, nfe: timesteps.length });
      }
      const feats = features[stage]!;
      const feeds: NamedTensors = {
        x_t: { data: input, dims: [n, 1, h, w] },
        t: { data: tensorT.fill(t), dims: [n] },
      };
      for (const name of featureNames) feeds[name] = feats[name]!;
      const out = await this.denoiser.run(feeds);
      const prediction = f32(out, this.card.graphs.denoiser.outputs[0]!.name);
      if (options.adaptiveStages) {
        const sigma = this.full.vpSigmaAt(t);
        predictionToX0(sampler.prediction, prediction, input, Math.sqrt(1 - sigma * sigma), sigma, x0);
        [hi, lo] = adaptStages(
          options.stages,
          dominance(x0.subarray(0, hw), plane(cond, 0, hw), bAligned(0), w, h),
        );
      }
      input = run.stepAndScale(prediction, x, noise) as Float32Array | undefined;
      timesteps.push(t);
      stagesUsed.push(stage);
      report({ phase: "denoiser", stage, step: timesteps.length, steps: total, nfe: timesteps.length });
    }
    return { fused: x, composite, mask, flow, timesteps, stagesUsed };
  }

  private truncated(length: number): NoiseSchedule {
    let s = this.schedules.get(length);
    if (!s) {
      s = NoiseSchedule.fromAlphasCumprod(this.full.alphasCumprod.subarray(0, length));
      this.schedules.set(length, s);
    }
    return s;
  }

  private stackPairs(
    n: number,
    hw: number,
    a: (i: number) => Float32Array,
    b: (i: number) => Float32Array,
  ): Float32Array {
    const out = new Float32Array(n * 2 * hw);
    for (let i = 0; i < n; i++) {
      out.set(a(i), 2 * i * hw);
      out.set(b(i), (2 * i + 1) * hw);
    }
    return out;
  }
}

function f32(out: NamedTensors, name: string): Float32Array {
  const t: Tensor<TensorData> | undefined = out[name];
  if (!t) throw new Error(`the model did not return '${name}'`);
  if (!(t.data instanceof Float32Array)) throw new TypeError(`model output '${name}' is not float32`);
  return t.data;
}

function plane(data: Float32Array, index: number, hw: number): Float32Array {
  return data.subarray(index * hw, (index + 1) * hw);
}

function warpedB(cond: Float32Array, flow: Float32Array, i: number, h: number, w: number): Float32Array {
  const hw = h * w;
  return warpPlane(plane(cond, 2 * i + 1, hw), plane(flow, 2 * i, hw), plane(flow, 2 * i + 1, hw), w, h);
}

/**
 * Which source an estimate follows, in [-1, 1]: > 0 when its gradients correlate more with A's
 * than with (registered) B's. All planes are w x h.
 */
export function dominance(
  x0: Float32Array,
  a: Float32Array,
  bAligned: Float32Array,
  w: number,
  h: number,
): number {
  const ca = gradientCorrelation(x0, a, w, h);
  const cb = gradientCorrelation(x0, bAligned, w, h);
  return (ca - cb) / (Math.abs(ca) + Math.abs(cb) + 1e-8);
}

/** Shrinks the dominating source's stage: B dominating raises hi, A dominating lowers lo (by half of d at most). */
export function adaptStages(stages: readonly [number, number], d: number, gain = 0.5): [number, number] {
  const [hi, lo] = stages;
  return [hi + (1 - hi) * gain * Math.max(0, -d), lo * (1 - gain * Math.max(0, d))];
}

function gradientCorrelation(x: Float32Array, y: Float32Array, w: number, h: number): number {
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  let n = 0;
  for (let r = 0; r < h - 1; r++) {
    for (let c = 0; c < w - 1; c++) {
      const i = r * w + c;
      const gx = Math.abs(x[i + 1]! - x[i]!) + Math.abs(x[i + w]! - x[i]!);
      const gy = Math.abs(y[i + 1]! - y[i]!) + Math.abs(y[i + w]! - y[i]!);
      sx += gx;
      sy += gy;
      sxx += gx * gx;
      syy += gy * gy;
      sxy += gx * gy;
      n++;
    }
  }
  if (n === 0) return 0;
  const cov = sxy / n - (sx / n) * (sy / n);
  const vx = sxx / n - (sx / n) ** 2;
  const vy = syy / n - (sy / n) ** 2;
  return vx > 0 && vy > 0 ? cov / Math.sqrt(vx * vy) : 0;
}

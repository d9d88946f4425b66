import {
  denoiseStrengthFor,
  type FusePlanesResult,
  type FusionEngine,
  type FusionProgress,
  findTask,
  type NoiseSource,
  preRegistrationMoves,
  type Registration,
  registerNgf,
  type Strategy,
  type TaskSpec,
  taskIdFor,
  warpPlane,
  warpPlaneCubic,
} from "@fccf/core";
import { luma } from "./colour.js";
import { checkRaster, fromPlanes, type Planes, type RasterImage, toPlanes } from "./image.js";
import { estimateNoise } from "./noise.js";
import { crop, paddedSize, padReflect } from "./padding.js";
import { planChannels } from "./plan.js";

/** Options of {@link fuseImages}; unset values come from the model card's task defaults. */
export interface FuseImagesOptions {
  /** Task name (case-insensitive) or id, e.g. "VI-IR". */
  task: string | number;
  /** Intensity strategy, `max` or `mean` (default: the card's, per task); needs a model trained for it. */
  strategy?: Strategy;
  /**
   * `"ngf"`: register B onto A before fusion with the classical {@link registerNgf} (normalised
   * gradient fields), in addition to the network's flow: for sources that show the same content
   * (MEF, MFF, PIF) misaligned by up to ~10 px, not for different modalities. `"auto"`: the same,
   * but only when it moves B by at least {@link AUTO_MIN_SHIFT_PX} on average (aligned pairs are
   * then fused as given; the registration still runs). `"none"`: only the network's flow.
   * Default: the card's, per task.
   */
  register?: Registration;
  /** Refinement strength in [0, the card's max_strength]; 0 = registered composite only. */
  strength?: number;
  /**
   * Possibly noisy sources: estimate their noise ({@link estimateNoise}, the larger of A's and B's)
   * and refine at the strength the card's denoise rule gives that level (chosen per task and noise
   * level on validation data with added noise; clean sources keep the composite, strength 0).
   * Replaces `strength`; give one or the other.
   */
  denoise?: boolean;
  steps?: number;
  sampler?: string;
  samplerOptions?: Readonly<Record<string, unknown>>;
  seed?: number;
  noise?: NoiseSource;
  stages?: readonly [number, number];
  adaptiveStages?: boolean;
  onProgress?: (p: FusionProgress) => void;
}

/** The fused image and what it was made from (mask and flow of the luma pass, in A's frame). */
export interface FuseImagesResult {
  image: RasterImage;
  task: TaskSpec;
  /** Weight of source A per pixel, [0, 1], width x height. */
  mask: Float32Array;
  /** Displacement registering B onto A, pixels: dx plane then dy plane (with `register`, both stages). */
  flow: Float32Array;
  /** The network planes (padded), for inspection and parity checks. */
  planes: FusePlanesResult;
  strategy: Strategy;
  /** The pre-registration that was applied (`"auto"` resolves to `"ngf"` or `"none"`). */
  register: "ngf" | "none";
  strength: number;
  /** With `denoise`: the estimated noise std of the sources (the larger of A's and B's, 8-bit units). */
  noiseSigma?: number;
  steps: number;
}

/**
 * Fuses two decoded images with a model: channel plan, padding, engine, reassembly.
 * Source A is the card's first source of the task (e.g. visible for VI-IR), B the second.
 *
 * @example
 * ```ts
 * import { fuseImages } from "@fccf/tasks";
 * const { image } = await fuseImages(engine, visible, infrared, { task: "VI-IR", seed: 1 });
 * const averaged = await fuseImages(engine, visible, infrared, { task: "VI-IR", strategy: "mean" });
 * const denoised = await fuseImages(engine, noisyVisible, noisyInfrared, { task: "VI-IR", denoise: true });
 * ```
 */
export async function fuseImages(
  engine: FusionEngine,
  a: RasterImage,
  b: RasterImage,
  options: FuseImagesOptions,
): Promise<FuseImagesResult> {
  checkRaster(a, "source A");
  checkRaster(b, "source B");
  const task = findTask(engine.card, options.task);
  const strategy = options.strategy ?? task.strategy;
  const taskId = taskIdFor(engine.card, task, strategy);
  const pa = toPlanes(a);
  const pb = toPlanes(b);
  const mode = options.register ?? task.register;
  const pre = mode === "none" ? undefined : preRegister(pa, pb, mode === "auto");
  const register = pre ? "ngf" : "none";
  const job = planChannels(task.plan, pa, pre?.aligned ?? pb);
  const { width: w, height: h } = job;
  const m = engine.card.input_multiple;
  const pw = paddedSize(w, m);
  const ph = paddedSize(h, m);
  const phw = pw * ph;
  const n = job.pairs.length;
  const cond = new Float32Array(n * 2 * phw);
  job.pairs.forEach((pair, i) => {
    cond.set(toUnit(padReflect(pair.a, w, h, pw, ph)), 2 * i * phw);
    cond.set(toUnit(padReflect(pair.b, w, h, pw, ph)), (2 * i + 1) * phw);
  });
  const { strength, noiseSigma } = resolveStrength(engine.card.name, task, options, a, b);
  const steps = options.steps ?? task.default_steps;
  const planes = await engine.fusePlanes(cond, n, ph, pw, {
    taskId,
    stages: options.stages ?? task.stages,
    strength,
    steps,
    sampler: options.sampler,
    samplerOptions: options.samplerOptions,
    seed: options.seed,
    noise: options.noise,
    adaptiveStages: options.adaptiveStages,
    onProgress: options.onProgress,
  });
  const fused = job.pairs.map((_, i) =>
    fromUnit(crop(planes.fused.subarray(i * phw, (i + 1) * phw), pw, w, h)),
  );
  const mask = crop(planes.mask.subarray(0, phw), pw, w, h);
  const dx = planes.flow.subarray(0, phw);
  const dy = planes.flow.subarray(phw, 2 * phw);
  // B's planes are registered in the padded frame, as the network saw them, then cropped.
  const alignB = (p: Float32Array) => crop(warpPlane(padReflect(p, w, h, pw, ph), dx, dy, pw, ph), pw, w, h);
  const image = fromPlanes(job.assemble(fused, mask, alignB));
  const flow = new Float32Array(2 * w * h);
  flow.set(crop(dx, pw, w, h), 0);
  flow.set(crop(dy, pw, w, h), w * h);
  if (pre) composeFlow(flow, pre.flow, w, h);
  return {
    image,
    task,
    mask,
    flow,
    planes,
    strategy,
    register,
    strength,
    ...(noiseSigma === undefined ? {} : { noiseSigma }),
    steps,
  };
}

function resolveStrength(
  model: string,
  task: TaskSpec,
  options: FuseImagesOptions,
  a: RasterImage,
  b: RasterImage,
): { strength: number; noiseSigma?: number } {
  if (!options.denoise) return { strength: options.strength ?? task.default_strength };
  if (options.strength !== undefined)
    throw new RangeError("give either a strength or denoise, not both (denoise sets the strength)");
  if (task.denoise === undefined)
    throw new RangeError(`model ${model} names no denoise rule for ${task.name}; give a strength instead`);
  const noiseSigma = Math.max(estimateNoise(a), estimateNoise(b));
  return { strength: denoiseStrengthFor(task.denoise, noiseSigma), noiseSigma };
}

/**
 * B's planes warped onto A by the classical registration of their luma, and that flow; with
 * `onlyIfMoved`, undefined when the flow is too small to be worth resampling B for.
 */
function preRegister(
  a: Planes,
  b: Planes,
  onlyIfMoved: boolean,
): { aligned: Planes; flow: Float32Array } | undefined {
  const { width: w, height: h } = a;
  const lum = (p: Planes) => {
    const [r, g, b] = p.planes;
    return g && b ? luma(r!, g, b) : r!;
  };
  const flow = registerNgf(lum(a), lum(b), w, h);
  if (onlyIfMoved && !preRegistrationMoves(flow, w, h)) return undefined;
  const dx = flow.subarray(0, w * h);
  const dy = flow.subarray(w * h);
  // One resampling of B at full quality (cubic), clamped to the plane range as bilinear never leaves it.
  const resample = (p: Float32Array) => clampUnit(warpPlaneCubic(p, dx, dy, w, h));
  return { aligned: { ...b, planes: b.planes.map(resample) }, flow };
}

/**
 * `net` becomes the flow of both warps in turn: b is first warped by `pre`, the network then warps
 * that by `net`, so b_aligned(p) = b(p + net(p) + pre(p + net(p))).
 */
function composeFlow(net: Float32Array, pre: Float32Array, w: number, h: number): void {
  const n = w * h;
  const ndx = net.slice(0, n);
  const ndy = net.slice(n);
  const px = warpPlane(pre.subarray(0, n), ndx, ndy, w, h);
  const py = warpPlane(pre.subarray(n), ndx, ndy, w, h);
  for (let i = 0; i < n; i++) {
    net[i] = ndx[i]! + px[i]!;
    net[n + i] = ndy[i]! + py[i]!;
  }
}

function clampUnit(p: Float32Array): Float32Array {
  for (let i = 0; i < p.length; i++) p[i] = p[i]! < 0 ? 0 : p[i]! > 1 ? 1 : p[i]!;
  return p;
}

function toUnit(p: Float32Array): Float32Array {
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = p[i]! * 2 - 1;
  return out;
}

/** [-1, 1] network values to [0, 1] planes, clipped (as the Python reference clips before rounding). */
function fromUnit(p: Float32Array): Float32Array {
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    out[i] = ((v < -1 ? -1 : v > 1 ? 1 : v) + 1) / 2;
  }
  return out;
}

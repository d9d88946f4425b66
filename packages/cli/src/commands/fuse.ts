import { resolve } from "node:path";
import { findTask, REGISTRATIONS, type Registration, type Strategy, taskIdFor } from "@fccf/core";
import "@fccf/samplers";
import { fuseImages } from "@fccf/tasks";
import { parseCommandArgs } from "../args.js";
import { defaultCardPath, loadEngine } from "../model-files.js";
import { ProgressBar } from "../progress.js";
import { readImage } from "../read-image.js";
import { UserError } from "../user-error.js";
import { writeImage } from "../write-image.js";

export const summary = "fuse two images of one scene (defaults: the VI-IR sample pair and the shipped model)";

const SAMPLES = resolve(import.meta.dirname, "../../../../samples");

const help = `usage: fccf fuse [A B] [options]

Fuses source A (e.g. visible, MRI, under-exposed) with source B (infrared, PET/SPECT/CT,
over-exposed, ...). Without A and B it fuses the VI-IR sample pair shipped with fccf.

options:
  -o, --output FILE     output image (.png, .tif, .jpg, .webp); default fused.png
  -t, --task NAME       task: VI-IR, VI-NIR, PIF, MED-SPECT, MED-PET, MED-CT, MEF, MFF (required with A and B)
      --strategy S      intensity strategy: max (favour the brighter source) or mean (average them)
                        (default: the card's, per task)
  -s, --strength X      diffusion refinement in [0, the card's max_strength]; 0 = registered composite
                        only (default: the card's, per task)
      --denoise         possibly noisy sources: estimate their noise and refine at the strength the
                        card gives that level (chosen per task on validation pairs with added
                        noise); clean sources keep the composite. Instead of --strength
      --steps N         sampler steps (default: the card's)
      --sampler NAME    any registered sampler, e.g. dpmsolver++, ddim, unipc, euler (default: the card's)
      --seed N          noise seed (default 0): same inputs, model and seed give the same bytes
      --register MODE   ngf: first register B onto A by normalised gradient fields (classical;
                        for misaligned exposures, focus stacks, polarisation images: same
                        content, up to ~10 px; not for different modalities; ~0.65 s at 640x480);
                        auto: the same, applied only when it moves B by >= 0.75 px on average;
                        none: the network's flow only (default: the card's, per task)
      --adaptive-stages shrink the stage of a source that dominates the running estimate
      --mask FILE       also write the fusion mask (weight of A) as a grey image
  -m, --model FILE      model card (default: the one in models/)
      --threads N       onnxruntime threads (default: all cores)
  -q, --quiet           no progress output
  -h, --help`;

function number(
  name: string,
  value: string | undefined,
  check: (v: number) => boolean,
  what: string,
): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (!Number.isFinite(v) || !check(v)) throw new UserError(`--${name} ${value}: expected ${what}`);
  return v;
}

export async function run(args: string[]): Promise<number> {
  const { values: v, positionals } = parseCommandArgs(args, argOptions, help);
  if (v.help) {
    console.log(help);
    return 0;
  }
  if (positionals.length !== 0 && positionals.length !== 2) {
    throw new UserError(`expected two input images (A and B) or none, got ${positionals.length}\n\n${help}`);
  }
  const useSample = positionals.length === 0;
  if (!useSample && !v.task)
    throw new UserError("--task is required when you give your own images (e.g. --task VI-IR)");
  const [pathA, pathB] = useSample ? [`${SAMPLES}/VI-IR/a-vi.png`, `${SAMPLES}/VI-IR/b-ir.png`] : positionals;
  const strength = number("strength", v.strength, (x) => x >= 0 && x <= 1, "a number in [0, 1]");
  if (v.denoise && strength !== undefined)
    throw new UserError("give either --strength or --denoise, not both (--denoise sets the strength)");
  const steps = number(
    "steps",
    v.steps,
    (x) => Number.isInteger(x) && x >= 1 && x <= 1000,
    "an integer from 1 to 1000",
  );
  const seed = number("seed", v.seed, Number.isSafeInteger, "an integer") ?? 0;
  const threads = number("threads", v.threads, (x) => Number.isInteger(x) && x >= 1, "a positive integer");
  const output = v.output ?? "fused.png";
  if (v.strategy !== undefined && v.strategy !== "max" && v.strategy !== "mean")
    throw new UserError(`--strategy ${v.strategy}: expected max or mean`);
  const strategy = v.strategy as Strategy | undefined;
  if (v.register !== undefined && !(REGISTRATIONS as readonly string[]).includes(v.register))
    throw new UserError(`--register ${v.register}: expected ${REGISTRATIONS.join(", ")}`);
  const register = v.register as Registration | undefined;

  const [a, b] = await Promise.all([readImage(pathA!), readImage(pathB!)]);
  const cardPath = v.model ? resolve(v.model) : await defaultCardPath();
  if (a.width !== b.width || a.height !== b.height) {
    throw new UserError(
      `${pathA} is ${a.width}x${a.height} but ${pathB} is ${b.width}x${b.height}: the sources must have the same size ` +
        "(resize or crop one of them; fccf registers small misalignments, not different framings)",
    );
  }
  const engine = await loadEngine(cardPath, threads);
  let task: ReturnType<typeof findTask>;
  try {
    task = findTask(engine.card, v.task ?? "VI-IR");
    taskIdFor(engine.card, task, strategy);
  } catch (err) {
    await engine.dispose();
    throw new UserError((err as Error).message);
  }
  let bar: ProgressBar | undefined;
  const started = performance.now();
  try {
    const result = await fuseImages(engine, a, b, {
      task: task.id,
      strategy,
      strength,
      denoise: v.denoise,
      steps,
      sampler: v.sampler,
      seed,
      adaptiveStages: v["adaptive-stages"],
      register,
      onProgress: (p) => {
        if (p.steps === 0) return;
        bar ??= new ProgressBar("fusing", p.steps, v.quiet);
        bar.update(p.step, `stage ${p.stage}, ${p.encoderRuns} encoder runs`);
      },
    });
    await writeImage(output, result.image);
    if (v.mask) {
      const mask = Uint8Array.from(result.mask, (m) => Math.round(Math.min(1, Math.max(0, m)) * 255));
      await writeImage(v.mask, { width: a.width, height: a.height, channels: 1, bitDepth: 8, data: mask });
    }
    const ms = performance.now() - started;
    if (!v.quiet) {
      const samplerName =
        result.strength > 0
          ? `${v.sampler ?? engine.card.default_sampler}, ${result.planes.timesteps.length} steps`
          : "composite only";
      const mode = register ?? task.register;
      const registered =
        mode === "auto"
          ? `auto (${result.register === "ngf" ? "B registered" : "B already aligned, left as given"})`
          : mode;
      console.log(
        `fused ${task.name} ${a.width}x${a.height} (${pathA} + ${pathB}) -> ${output}\n` +
          `  model ${engine.card.name}, strategy ${result.strategy}, register ${registered}, strength ${result.strength} (${samplerName}), seed ${seed}, ${ms.toFixed(0)} ms` +
          (result.noiseSigma === undefined
            ? ""
            : `\n  denoise: estimated noise std ${result.noiseSigma.toFixed(1)}/255 -> strength ${result.strength}`),
      );
    }
  } catch (err) {
    if (err instanceof RangeError) throw new UserError(err.message);
    throw err;
  } finally {
    await engine.dispose();
  }
  return 0;
}

const argOptions = {
  output: { type: "string", short: "o" },
  task: { type: "string", short: "t" },
  strategy: { type: "string" },
  strength: { type: "string", short: "s" },
  denoise: { type: "boolean" },
  steps: { type: "string" },
  sampler: { type: "string" },
  seed: { type: "string" },
  "adaptive-stages": { type: "boolean" },
  register: { type: "string" },
  mask: { type: "string" },
  model: { type: "string", short: "m" },
  threads: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
} as const;

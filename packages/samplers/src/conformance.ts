// `pnpm conformance samplers <dir>`: runs every reference trajectory of a fixture folder (format:
// ../shared/fixtures/samplers/README.md) through fccf's samplers and the analytic Gaussian model,
// comparing every model input, model output, intermediate sample and the final sample.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { maxAbs, NoiseSchedule, RecordedNoise, samplers } from "@fccf/core";
import { fixtureMean, GaussianModel } from "./analytic.js";
import { translateConfig } from "./conformance-config.js";
import "./index.js";

/** Fixture class key -> fccf sampler name. */
const CLASS_TO_SAMPLER: Record<string, string> = {
  ddim: "ddim",
  ddpm: "ddpm",
  dpm_multistep: "dpm-solver++",
  dpm_singlestep: "dpm-solver-singlestep",
  deis: "deis",
  unipc: "unipc",
  euler: "euler",
  euler_ancestral: "euler-ancestral",
  heun: "heun",
  kdpm2: "kdpm2",
};
const ORIG_TO_CLASS: Record<string, string> = { dpmsolver_orig: "dpm_multistep", unipc_orig: "unipc" };

interface Step {
  t?: number;
  t_input?: number;
  model_input: number[];
  model_output: number[];
  noise?: number[][] | null;
  x_prev?: number[];
}
interface Case {
  id: string;
  sampler?: string;
  config?: Record<string, unknown>;
  num_inference_steps: number;
  model: { s: number; prediction_type: string; alphas_cumprod_file: string };
  step_kwargs?: Record<string, unknown>;
  x_init: number[];
  x_T?: number[];
  init_noise_sigma?: number;
  timesteps?: number[];
  steps: Step[];
  x_final: number[];
  diffusers_equivalent?: { id: string; config?: Record<string, unknown> };
  diffusers_timesteps?: number[];
  solver_args?: Record<string, unknown>;
  solver?: string;
}

interface Table {
  alphas_cumprod: number[];
  sigma_table: number[];
}

/** fccf options equivalent to a dpm-solver / UniPC original-code call (sigma_min end, eps model). */
function origOptions(kind: string, args: Record<string, unknown>, call: string): Record<string, unknown> {
  const common = {
    solverOrder: args.order,
    lowerOrderFinal: args.lower_order_final ?? true,
    finalSigmasType: "sigma_min",
  };
  if (kind === "dpmsolver_orig") {
    return {
      ...common,
      algorithmType: args.algorithm_type,
      solverType: args.solver_type === "taylor" ? "heun" : "midpoint",
    };
  }
  return { ...common, solverType: args.variant, predictX0: !call.includes("noise_prediction") };
}

interface Outcome {
  worst: number;
  where: string;
}

async function runCase(c: Case, dir: string, tables: Map<string, Table>): Promise<Outcome> {
  const orig = c.diffusers_equivalent !== undefined && c.sampler === undefined;
  const origKind = c.id.split("-")[0]!;
  const classKey = orig ? ORIG_TO_CLASS[origKind] : c.sampler;
  if (!classKey || !CLASS_TO_SAMPLER[classKey])
    throw new Error(`unknown sampler class '${classKey ?? c.id}'`);
  const file = c.model.alphas_cumprod_file;
  let table = tables.get(file);
  if (!table) {
    table = JSON.parse(await readFile(join(dir, file), "utf8")) as Table;
    tables.set(file, table);
  }
  let schedule: NoiseSchedule;
  let options: Record<string, unknown>;
  const config = orig ? c.diffusers_equivalent!.config : c.config;
  if (config) {
    const translated = translateConfig(config, c.step_kwargs ?? {});
    schedule = NoiseSchedule.fromConfig(translated.schedule);
    options = translated.options;
  } else if (orig && c.solver_args) {
    // An original-implementation case without its diffusers config: the same solver from its call
    // arguments, on the alphas_cumprod table it used, ending at sigma_min like its time grid.
    schedule = NoiseSchedule.fromAlphasCumprod(table.alphas_cumprod);
    options = origOptions(origKind, c.solver_args, c.solver ?? "");
  } else throw new Error("the case has no scheduler config");
  const sampler = samplers.create(CLASS_TO_SAMPLER[classKey]!, schedule, options);
  const run = sampler.plan(c.num_inference_steps);

  const model = new GaussianModel(
    table.sigma_table,
    fixtureMean(c.x_init.length),
    c.model.s,
    sampler.prediction,
  );
  if (c.model.prediction_type !== sampler.prediction) {
    throw new Error(
      `model predicts ${c.model.prediction_type} but the sampler is set for ${sampler.prediction}`,
    );
  }

  const scale = Math.max(1, maxAbs(c.x_init));
  let worst = 0;
  let where = "";
  const note = (err: number, at: string) => {
    const e = Number.isNaN(err) ? Number.POSITIVE_INFINITY : err;
    if (e > worst) {
      worst = e;
      where = at;
    }
  };
  const expectedTimesteps = orig ? c.diffusers_timesteps : c.timesteps;
  if (expectedTimesteps) {
    if (expectedTimesteps.length !== run.timesteps.length) {
      throw new Error(`plan has ${run.timesteps.length} timesteps, reference ${expectedTimesteps.length}`);
    }
    expectedTimesteps.forEach((t, i) => {
      note(Math.abs(t - run.timesteps[i]!) / scale, `timesteps[${i}]`);
    });
  }
  if (c.init_noise_sigma !== undefined && c.x_T) {
    note(
      Math.abs(run.initNoiseSigma - c.init_noise_sigma) / Math.max(1, c.init_noise_sigma),
      "init_noise_sigma",
    );
  }
  if (c.steps.length !== run.modelCalls)
    throw new Error(`reference has ${c.steps.length} model calls, fccf plans ${run.modelCalls}`);

  const x = Float64Array.from(c.x_init);
  c.steps.forEach((ref, i) => {
    const t = run.timestep;
    if (ref.t_input !== undefined) note(Math.abs(ref.t_input - t) / scale, `step ${i} t_input`);
    const input = run.scaleModelInput(x);
    note(maxDiff(input, ref.model_input) / scale, `step ${i} model_input`);
    const out = model.evaluate(input, t);
    note(maxDiff(out, ref.model_output) / scale, `step ${i} model_output`);
    const draws = ref.noise ?? [];
    const noise = new RecordedNoise(draws);
    run.step(out, x, noise);
    if (noise.consumed !== draws.length)
      throw new Error(`step ${i} drew ${noise.consumed} noise arrays, reference ${draws.length}`);
    if (ref.x_prev) note(maxDiff(x, ref.x_prev) / scale, `step ${i} x_prev`);
  });
  note(maxDiff(x, c.x_final) / scale, "x_final");
  return { worst, where };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}

/** Relative tolerance of the check: |fccf - reference| <= TOLERANCE * max(1, max|x_init|). */
export const TOLERANCE = 1e-9;

/**
 * Runs every case file of `dir` (skipping the alphas_cumprod tables, which the cases reference) and
 * logs one line per failing case; the last line is `N passed, M failed`.
 */
export async function runConformance(
  dir: string,
  log: (line: string) => void,
): Promise<{ passed: number; failed: number }> {
  let names: string[];
  try {
    names = (await readdir(dir))
      .filter((f) => f.endsWith(".json") && !f.startsWith("alphas_cumprod_"))
      .sort();
  } catch (err) {
    throw new Error(`cannot read fixture folder ${dir}: ${(err as Error).message}`);
  }
  const tables = new Map<string, Table>();
  let passed = 0;
  let failed = 0;
  for (const name of names) {
    let c: Case;
    try {
      c = JSON.parse(await readFile(join(dir, name), "utf8")) as Case;
    } catch (err) {
      failed++;
      log(`FAIL ${name}: unreadable case file (${(err as Error).message})`);
      continue;
    }
    try {
      const { worst, where } = await runCase(c, dir, tables);
      if (worst <= TOLERANCE) passed++;
      else {
        failed++;
        log(
          `FAIL ${c.id}: largest error ${worst.toExponential(2)} x max(1,|x_init|) at ${where} (limit ${TOLERANCE})`,
        );
      }
    } catch (err) {
      failed++;
      log(`FAIL ${c.id ?? name}: ${(err as Error).message}`);
    }
  }
  if (names.length === 0) log(`no case files in ${dir}`);
  log(`${passed} passed, ${failed} failed`);
  return { passed, failed: names.length === 0 ? failed + 1 : failed };
}

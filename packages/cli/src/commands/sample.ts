// `fccf sample`: runs a sampler on the analytic Gaussian model (the model of the sampler reference
// fixtures), whose probability-flow ODE has a closed-form solution, and reports how far the sample
// lands from it. It exercises the whole sampler API the fusion engine uses: plan, strength,
// addNoise, scaleModelInput, the Denoiser contract in any parameterisation, and step.
import type { BetaSchedule, PredictionType, Sampler } from "@fccf/core";
import { NoiseSchedule, parsePrediction, SeededNoise, samplers } from "@fccf/core";
import { exactPfOde, fixtureMean, GaussianModel } from "@fccf/samplers";
import { parseCommandArgs } from "../args.js";
import { ProgressBar } from "../progress.js";
import { UserError } from "../user-error.js";

export const summary =
  "run a sampler on the analytic Gaussian model and print its error against the exact solution";

const SCHEDULES: Record<string, { betaSchedule: BetaSchedule; betaStart?: number; betaEnd?: number }> = {
  linear: { betaSchedule: "linear", betaStart: 0.0001, betaEnd: 0.02 },
  scaled_linear: { betaSchedule: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012 },
  squaredcos_cap_v2: { betaSchedule: "squaredcos_cap_v2" },
};

const help = `usage: fccf sample [options]

Samples the analytic Gaussian model (data x0[i] ~ N(mu[i], 0.5^2), mu[i] = 0.8 sin(0.7 i + 0.3), the
model of the sampler reference fixtures) and prints the error against the exact probability-flow
ODE solution, at the final sample and one step before it.

options:
  -s, --sampler NAME     sampler name or alias (default dpm-solver++); --list shows them all
  -n, --steps N          number of sampler steps (default 20)
      --seed N           seed of the initial noise and of stochastic samplers (default 0)
      --spacing S        linspace|leading|trailing (default: the sampler's own)
      --prediction P     what the model predicts: eps, x0 or v (default eps)
      --schedule S       linear|scaled_linear|squaredcos_cap_v2 (default scaled_linear)
      --strength S       start from clean data noised to t = round(S (T-1)), S in (0, 1] (default 1)
  -o, --option K=V       another sampler option, repeatable (e.g. -o solverOrder=3 -o solverType=heun)
      --size N           number of values sampled (default 24, the fixtures' [1,2,3,4] tensor)
      --json             print the result as JSON
      --list             list the registered samplers
  -q, --quiet            no progress output
  -h, --help

Samplers that end at sigma = 0 return the model's denoised estimate at their last level, so for
this wide Gaussian the final error mostly measures that last level; the error one step before the
end shows the solver's accuracy.`;

function int(name: string, value: string | undefined, dflt: number, min: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new UserError(`--${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

/** Parses `K=V` (V as JSON when it parses: numbers, true/false, null, lists; else a string). */
function parseOption(text: string): [string, unknown] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UserError(`--option needs KEY=VALUE, got '${text}'`);
  const raw = text.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // not JSON: keep the string
  }
  return [text.slice(0, eq), value];
}

function listSamplers(): string {
  const lines = ["registered samplers (name, aliases, order with default options, noise):"];
  for (const p of samplers.list()) {
    const defaults = Object.fromEntries(Object.entries(p.options).map(([k, o]) => [k, o.default]));
    const noise = p.stochastic(defaults as never) ? "stochastic" : "deterministic";
    lines.push(
      `  ${p.name.padEnd(22)} ${p.aliases.join(", ").padEnd(48)} order ${p.order(defaults as never)}, ${noise}`,
    );
    lines.push(`  ${"".padEnd(22)} ${p.description}`);
  }
  return lines.join("\n");
}

interface Result {
  sampler: string;
  options: Record<string, unknown>;
  schedule: string;
  prediction: PredictionType;
  steps: number;
  modelCalls: number;
  stochastic: boolean;
  startTimestep: number;
  startSigma: number;
  penultimateSigma: number;
  finalSigma: number;
  errorPenultimate: number;
  errorFinal: number;
}

function maxErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export async function run(args: string[]): Promise<number> {
  const { values: v, positionals } = parseCommandArgs(args, argOptions, help);
  if (v.help) {
    console.log(help);
    return 0;
  }
  await import("@fccf/samplers");
  if (v.list) {
    console.log(listSamplers());
    return 0;
  }
  if (positionals.length > 0) throw new UserError(`unexpected argument '${positionals[0]}'`);

  const steps = int("steps", v.steps, 20, 1);
  const seed = int("seed", v.seed, 0, 0);
  const size = int("size", v.size, 24, 1);
  const scheduleName = v.schedule ?? "scaled_linear";
  const scheduleConfig = SCHEDULES[scheduleName];
  if (!scheduleConfig)
    throw new UserError(`unknown --schedule '${scheduleName}' (use ${Object.keys(SCHEDULES).join(", ")})`);
  let prediction: PredictionType;
  try {
    prediction = parsePrediction(v.prediction ?? "eps");
  } catch (err) {
    throw new UserError(`--prediction: ${(err as Error).message}`);
  }
  let strength: number | undefined;
  if (v.strength !== undefined) {
    strength = Number(v.strength);
    if (!(strength > 0 && strength <= 1))
      throw new UserError(`--strength must be in (0, 1], got '${v.strength}'`);
  }
  const options: Record<string, unknown> = { predictionType: prediction };
  if (v.spacing !== undefined) options.timestepSpacing = v.spacing;
  for (const text of v.option ?? []) {
    const [key, value] = parseOption(text);
    options[key] = value;
  }

  const schedule = NoiseSchedule.fromConfig(scheduleConfig);
  const name = v.sampler ?? "dpm-solver++";
  let sampler: Sampler;
  let planned: ReturnType<Sampler["plan"]>;
  try {
    sampler = samplers.create(name, schedule, options);
    planned = sampler.plan(steps, strength === undefined || strength === 1 ? {} : { strength });
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  const run = planned;

  // The start: pure noise for a full run, else clean data noised to the start level.
  const mu = fixtureMean(size);
  const noise = new SeededNoise(seed);
  const x = new Float64Array(size);
  noise.fill(x);
  if (run.begin === 0 && strength === undefined) {
    for (let i = 0; i < size; i++) x[i] = x[i]! * run.initNoiseSigma;
  } else {
    const x0 = new Float64Array(size);
    noise.fill(x0);
    for (let i = 0; i < size; i++) x0[i] = mu[i]! + 0.5 * x0[i]!;
    run.addNoise(x0, x.slice(), x);
  }
  const start = x.slice();
  const model = new GaussianModel(schedule.sigmas, mu, 0.5, sampler.prediction);
  const bar = new ProgressBar(`sampling (${sampler.name})`, run.modelCalls, v.quiet || v.json);

  const last = run.timesteps.length - 1;
  let penultimate: Float64Array | undefined;
  let calls = 0;
  while (!run.done) {
    if (run.stepIndex === last) penultimate = x.slice();
    const t = run.timestep;
    const out = model.evaluate(run.scaleModelInput(x), t);
    run.step(out, x, noise);
    bar.update(++calls, `t = ${Number.isInteger(t) ? t : t.toFixed(2)}`);
  }

  const exactAt = (level: number) => exactPfOde(start, mu, 0.5, run.startLevel, level, sampler.space);
  const penultimateSigma = run.levels[last]!;
  const result: Result = {
    sampler: sampler.name,
    options: { ...sampler.config },
    schedule: scheduleName,
    prediction: sampler.prediction,
    steps,
    modelCalls: run.modelCalls,
    stochastic: sampler.stochastic,
    startTimestep: run.timesteps[run.begin]!,
    startSigma: run.startLevel,
    penultimateSigma,
    finalSigma: run.finalLevel,
    errorPenultimate: penultimate ? maxErr(penultimate, exactAt(penultimateSigma)) : Number.NaN,
    errorFinal: maxErr(x, exactAt(run.finalLevel)),
  };
  if (v.json) {
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  const e = (n: number) => (Number.isFinite(n) ? n.toExponential(2) : String(n));
  const g = (n: number) => Number(n.toPrecision(4)).toString();
  const lines = [
    `sampler     ${sampler.name} (${sampler.plugin.description})`,
    `            order ${sampler.order}, ${sampler.stochastic ? "stochastic" : "deterministic"}, ${sampler.space} state`,
    `schedule    ${scheduleName}, ${schedule.numTrainTimesteps} training steps; model predicts ${sampler.prediction}`,
    `plan        ${steps} steps, ${run.modelCalls} model calls, from t = ${g(result.startTimestep)} (sigma ${g(run.startLevel)}) to sigma ${g(run.finalLevel)}`,
    `error against the exact PF-ODE solution (max |x - x_exact| over ${size} values):`,
    `  ${`one step before the end (sigma ${g(penultimateSigma)}):`.padEnd(42)}${e(result.errorPenultimate)}`,
    `  ${`final sample (sigma ${g(run.finalLevel)}):`.padEnd(42)}${e(result.errorFinal)}`,
  ];
  if (sampler.stochastic) {
    lines.push("note: this sampler draws fresh noise, so its sample is not meant to follow the ODE path;");
    lines.push("      the error measures how far the noise takes it from the deterministic solution.");
  }
  console.log(lines.join("\n"));
  return 0;
}

const argOptions = {
  sampler: { type: "string", short: "s" },
  steps: { type: "string", short: "n" },
  seed: { type: "string" },
  spacing: { type: "string" },
  prediction: { type: "string" },
  schedule: { type: "string" },
  strength: { type: "string" },
  option: { type: "string", short: "o", multiple: true },
  size: { type: "string" },
  json: { type: "boolean" },
  list: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
} as const;

// The model card (models/<name>.json): everything the engine knows about a model comes from here.
// Field names follow the card written by training/fccf_train (snake_case); see models/README.md.

/** Classical pre-registration modes: always, when it finds a real displacement, never. */
export const REGISTRATIONS = ["ngf", "auto", "none"] as const;
export type Registration = (typeof REGISTRATIONS)[number];

/** One input or output of a graph. */
export interface GraphIO {
  name: string;
  type: "float32" | "int64";
  shape: (number | string)[];
}

/** One ONNX graph of the model: its file (relative to the card) and its inputs and outputs. */
export interface GraphSpec {
  file: string;
  inputs: GraphIO[];
  outputs: GraphIO[];
}

/** Intensity strategy of a fusion: favour the brighter source (`max`) or average them (`mean`). */
export type Strategy = "max" | "mean";

/** A task the model serves: its id (the `task` input), sources, channel plan, defaults. */
export interface TaskSpec {
  /** The graphs' `task` input for the task with its default strategy. */
  id: number;
  name: string;
  /** Data folder names of source A (cond[:, 0]) and source B (the card's `source_a`, `source_b`). */
  sources: [string, string];
  plan: "y" | "full-colour" | "both-colour";
  /** Default strategy. */
  strategy: Strategy;
  /**
   * The `task` input per strategy the model was trained for (the card's `strategies`; a model
   * trained with one strategy per task lists only its default).
   */
  strategies: Readonly<Partial<Record<Strategy, number>>>;
  /** Stage boundaries [hi, lo] (the card's `stages.hi`, `stages.lo`) as fractions of the sampled range: > hi (B', B'), > lo (A, B), else (A, A). */
  stages: [number, number];
  /**
   * Classical pre-registration run by default before the network, chosen per task on validation
   * data: `"ngf"` always ({@link registerNgf}), `"auto"` when it finds a real displacement
   * ({@link preRegistrationMoves}), `"none"` when the card does not name one.
   */
  register: Registration;
  /** Default refinement strength in [0, 1] (0 = the registered composite only). */
  default_strength: number;
  /**
   * Refinement strength for noisy sources by their noise level (the card's `denoise`; absent when
   * the model's refiner was not chosen for it): rows of noise std (8-bit units) and the strength
   * chosen at that level on validation data with added Gaussian noise (0: the composite did best).
   * Ascending by `sigma`. {@link denoiseStrengthFor} reads it.
   */
  denoise?: readonly DenoiseLevel[];
  /** Default number of sampler steps (the card's `sampler.default_steps`). */
  default_steps: number;
}

/** One row of a task's {@link TaskSpec.denoise} rule. */
export interface DenoiseLevel {
  /** Noise standard deviation in 8-bit units (0..255 scale). */
  sigma: number;
  /** Refinement strength chosen at that noise level; 0 = the composite alone. */
  strength: number;
}

/**
 * The strength a task's denoise rule gives sources with estimated noise `sigma` (8-bit units): the
 * row whose level is nearest; sources nearer to clean (0) than to the first row get 0.
 *
 * @example
 * ```ts
 * import { denoiseStrengthFor } from "@fccf/core";
 * denoiseStrengthFor([{ sigma: 5, strength: 0 }, { sigma: 15, strength: 0.003 }], 13.2); // 0.003
 * ```
 */
export function denoiseStrengthFor(rule: readonly DenoiseLevel[], sigma: number): number {
  let best = 0;
  let dist = Math.abs(sigma);
  for (const r of rule) {
    const d = Math.abs(sigma - r.sigma);
    if (d < dist) {
      best = r.strength;
      dist = d;
    }
  }
  return best;
}

/** The noise schedule the denoiser was trained with. */
export interface ScheduleSpec {
  beta_schedule: "linear" | "scaled_linear" | "squaredcos_cap_v2";
  beta_start: number;
  beta_end: number;
  num_train_timesteps: number;
  prediction_type: "epsilon" | "sample" | "v_prediction";
}

/** A parsed, validated model card. Extra fields (quality tables, training notes) are kept in `raw`. */
export interface ModelCard {
  name: string;
  /** The contract the card declares, e.g. "fccf-model/1". */
  contract: string;
  graphs: { encoder: GraphSpec; denoiser: GraphSpec };
  schedule: ScheduleSpec;
  input_multiple: number;
  /** The sampler the card's quality tables were measured with (the card's `sampler.name`). */
  default_sampler: string;
  /**
   * Largest refinement strength the denoiser was trained for (the card's `max_strength`; 1 when
   * absent): the engine refuses larger ones, whose result the model never learnt.
   */
  max_strength: number;
  tasks: TaskSpec[];
  raw: Record<string, unknown>;
}

/** The model contracts this engine understands. */
export const SUPPORTED_CONTRACTS = ["fccf-model/1"];

/**
 * Validates a card's JSON. Errors name the card (`source`) and the field.
 *
 * @example
 * ```ts
 * import { parseCard } from "@fccf/core";
 * const card = parseCard(JSON.parse(await readFile("models/fccf-v1.json", "utf8")), "models/fccf-v1.json");
 * card.tasks.map((t) => t.name);
 * ```
 */
export function parseCard(json: unknown, source = "model card"): ModelCard {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  const obj = (v: unknown, path: string): Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : fail(`${path} must be an object`);
  const num = (v: unknown, path: string): number =>
    typeof v === "number" && Number.isFinite(v) ? v : fail(`${path} must be a number`);
  const str = (v: unknown, path: string): string =>
    typeof v === "string" && v ? v : fail(`${path} must be a non-empty string`);
  const oneOf = <T extends string>(v: unknown, allowed: readonly T[], path: string): T =>
    allowed.includes(v as T)
      ? (v as T)
      : fail(`${path} must be one of ${allowed.join(", ")}, got ${JSON.stringify(v)}`);

  const root = obj(json, "the card");
  const contract = str(root.contract, "contract");
  if (!SUPPORTED_CONTRACTS.includes(contract)) {
    fail(
      `contract '${contract}' is not supported by this fccf (supports ${SUPPORTED_CONTRACTS.join(", ")}); update fccf`,
    );
  }
  const graph = (v: unknown, path: string): GraphSpec => {
    const g = obj(v, path);
    const io = (list: unknown, p: string): GraphIO[] => {
      if (!Array.isArray(list)) return fail(`${p} must be a list`);
      return list.map((e, i) => {
        const o = obj(e, `${p}[${i}]`);
        const shape = Array.isArray(o.shape)
          ? (o.shape as (number | string)[])
          : fail(`${p}[${i}].shape must be a list`);
        return {
          name: str(o.name, `${p}[${i}].name`),
          type: oneOf(o.type, ["float32", "int64"] as const, `${p}[${i}].type`),
          shape,
        };
      });
    };
    return {
      file: str(g.file, `${path}.file`),
      inputs: io(g.inputs, `${path}.inputs`),
      outputs: io(g.outputs, `${path}.outputs`),
    };
  };
  const graphs = obj(root.graphs, "graphs");
  const encoder = graph(graphs.encoder, "graphs.encoder");
  const denoiser = graph(graphs.denoiser, "graphs.denoiser");
  for (const required of ["comp", "mask", "flow"]) {
    if (!encoder.outputs.some((o) => o.name === required)) fail(`graphs.encoder has no output '${required}'`);
  }
  for (const required of ["cond", "task"]) {
    if (!encoder.inputs.some((o) => o.name === required)) fail(`graphs.encoder has no input '${required}'`);
  }
  for (const input of denoiser.inputs) {
    if (input.name !== "x_t" && input.name !== "t" && !encoder.outputs.some((o) => o.name === input.name)) {
      fail(`graphs.denoiser input '${input.name}' is neither x_t, t nor an encoder output`);
    }
  }
  if (denoiser.outputs.length !== 1) fail("graphs.denoiser must have exactly one output (the prediction)");

  const s = obj(root.schedule, "schedule");
  const schedule: ScheduleSpec = {
    beta_schedule: oneOf(
      s.beta_schedule,
      ["linear", "scaled_linear", "squaredcos_cap_v2"] as const,
      "schedule.beta_schedule",
    ),
    beta_start: num(s.beta_start, "schedule.beta_start"),
    beta_end: num(s.beta_end, "schedule.beta_end"),
    num_train_timesteps: num(s.num_train_timesteps, "schedule.num_train_timesteps"),
    prediction_type: oneOf(
      s.prediction_type,
      ["epsilon", "sample", "v_prediction"] as const,
      "schedule.prediction_type",
    ),
  };
  const inputMultiple = num(root.input_multiple, "input_multiple");
  if (!Number.isInteger(inputMultiple) || inputMultiple < 1)
    fail("input_multiple must be a positive integer");

  const sampler = obj(root.sampler, "sampler");
  const steps = num(sampler.default_steps, "sampler.default_steps");
  if (!Number.isInteger(steps) || steps < 1) fail("sampler.default_steps must be a positive integer");

  const maxStrength = root.max_strength === undefined ? 1 : num(root.max_strength, "max_strength");
  if (!(maxStrength > 0 && maxStrength <= 1)) fail(`max_strength must be in (0, 1], got ${maxStrength}`);

  if (!Array.isArray(root.tasks) || root.tasks.length === 0) fail("tasks must be a non-empty list");
  const tasks = (root.tasks as unknown[]).map((v, i): TaskSpec => {
    const p = `tasks[${i}]`;
    const t = obj(v, p);
    const stages = obj(t.stages, `${p}.stages`);
    const hi = num(stages.hi, `${p}.stages.hi`);
    const lo = num(stages.lo, `${p}.stages.lo`);
    if (!(0 <= lo && lo <= hi && hi <= 1))
      fail(`${p}.stages must satisfy 0 <= lo <= hi <= 1, got hi ${hi}, lo ${lo}`);
    const strength = num(t.default_strength, `${p}.default_strength`);
    if (!(strength >= 0 && strength <= maxStrength))
      fail(`${p}.default_strength must be in [0, max_strength = ${maxStrength}], got ${strength}`);
    let denoise: DenoiseLevel[] | undefined;
    if (t.denoise !== undefined) {
      if (!Array.isArray(t.denoise) || t.denoise.length === 0)
        fail(`${p}.denoise must be a non-empty list of {sigma, strength}`);
      denoise = (t.denoise as unknown[]).map((row, j) => {
        const q = `${p}.denoise[${j}]`;
        const r = obj(row, q);
        const sigma = num(r.sigma, `${q}.sigma`);
        const s = num(r.strength, `${q}.strength`);
        if (!(sigma > 0)) fail(`${q}.sigma must be > 0 (8-bit units), got ${sigma}`);
        if (!(s >= 0 && s <= maxStrength))
          fail(`${q}.strength must be in [0, max_strength = ${maxStrength}], got ${s}`);
        return { sigma, strength: s };
      });
      denoise.forEach((r, j) => {
        if (j > 0 && r.sigma <= denoise![j - 1]!.sigma)
          fail(
            `${p}.denoise must be ascending by sigma (row ${j}: ${r.sigma} after ${denoise![j - 1]!.sigma})`,
          );
      });
    }
    const id = num(t.id, `${p}.id`);
    const strategy = oneOf(t.strategy, ["max", "mean"] as const, `${p}.strategy`);
    const strategies: Partial<Record<Strategy, number>> = { [strategy]: id };
    if (t.strategies !== undefined) {
      const listed = obj(t.strategies, `${p}.strategies`);
      for (const [k, v] of Object.entries(listed)) {
        strategies[oneOf(k, ["max", "mean"] as const, `${p}.strategies key`)] = num(
          v,
          `${p}.strategies.${k}`,
        );
      }
      if (strategies[strategy] !== id)
        fail(`${p}.strategies.${strategy} must equal ${p}.id (${id}), the default strategy's id`);
    }
    return {
      id,
      name: str(t.name, `${p}.name`),
      sources: [str(t.source_a, `${p}.source_a`), str(t.source_b, `${p}.source_b`)],
      plan: oneOf(t.plan, ["y", "full-colour", "both-colour"] as const, `${p}.plan`),
      strategy,
      strategies,
      register: t.register === undefined ? "none" : oneOf(t.register, REGISTRATIONS, `${p}.register`),
      stages: [hi, lo],
      default_strength: strength,
      ...(denoise === undefined ? {} : { denoise }),
      default_steps: steps,
    };
  });
  return {
    name: str(root.name, "name"),
    contract,
    graphs: { encoder, denoiser },
    schedule,
    input_multiple: inputMultiple,
    default_sampler: str(sampler.name, "sampler.name"),
    max_strength: maxStrength,
    tasks,
    raw: root,
  };
}

/** Finds a task by name (case-insensitive) or id; the error lists the known names. */
export function findTask(card: ModelCard, nameOrId: string | number): TaskSpec {
  const key = String(nameOrId).toLowerCase();
  const task = card.tasks.find((t) => t.name.toLowerCase() === key || String(t.id) === key);
  if (!task) {
    throw new Error(
      `unknown task '${nameOrId}' for model ${card.name}; known tasks: ${card.tasks.map((t) => t.name).join(", ")}`,
    );
  }
  return task;
}

/**
 * The graphs' `task` input for a task fused with a strategy (default: the task's). Throws when the
 * model was not trained for that strategy, naming the ones it has.
 *
 * @example
 * ```ts
 * const id = taskIdFor(card, findTask(card, "VI-IR"), "mean");
 * ```
 */
export function taskIdFor(card: ModelCard, task: TaskSpec, strategy?: Strategy): number {
  const s = strategy ?? task.strategy;
  const id = task.strategies[s];
  if (id === undefined) {
    const known = Object.keys(task.strategies).join(", ");
    throw new Error(
      `model ${card.name} was trained for ${task.name} with strategy ${known} only, not '${s}'; ` +
        "omit the strategy or use a model whose card lists tasks[].strategies",
    );
  }
  return id;
}

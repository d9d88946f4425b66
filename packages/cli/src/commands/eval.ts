import { readdir, stat } from "node:fs/promises";
import { dirname, extname, join, resolve } from "node:path";
import {
  CONVENTIONS,
  type Convention,
  evaluate,
  type MetricInfo,
  type Plane,
  resolveMetricKeys,
  rgbToGrey,
} from "@fccf/metrics";
import type { RasterImage } from "@fccf/tasks";
import sharp from "sharp";
import { parseCommandArgs } from "../args.js";
import { ProgressBar } from "../progress.js";
import { readImage } from "../read-image.js";
import { UserError } from "../user-error.js";
import { writeFileAtomic } from "../write-atomic.js";

export const summary = "fusion quality metrics of fused images over a dataset (table, CSV, JSON)";

const help = `usage: fccf eval --data ROOT --task TASK --fused DIR [options]

Computes fusion metrics for every image pair of ROOT/TASK/<modA>/ and ROOT/TASK/<modB>/ (the two
subfolders of the task) against the fused image of the same name (any extension) in DIR.
Colour images become grey by BT.601 luma, rounded (as the reference evaluators' pipelines);
16-bit images are measured on the 0..255 scale (value / 257).

options:
      --data ROOT        dataset root, e.g. ../shared/data/test
  -t, --task TASK        task folder, e.g. VI-IR
      --fused DIR        folder with the fused images
  -c, --convention NAME  cddfuse (default), vifb or tang: which evaluator's definitions to follow
      --metrics LIST     comma-separated metric keys, e.g. EN,SD,MI,Qabf (default: the convention's set)
      --csv FILE         also write per-image values and the mean as CSV
      --json FILE        also write them as JSON (non-finite values as "NaN", "Infinity", "-Infinity")
      --a FOLDER         which task subfolder is source A (default: vi, VI, MRI, under, source_1 or S0)
      --allow-missing    evaluate the complete triples even if some images are missing or differ in
                         size (they are still listed); without it such problems are an error
  -q, --quiet            no progress output
  -h, --help

The mean row is the plain mean over the images, so one NaN (e.g. SCD when F equals a source) makes
the mean NaN, as in the reference evaluators' scripts.`;

/** Source-A modality folder names (the visible / MRI / under-exposed / first-focus image). */
const A_FOLDERS = ["vi", "mri", "under", "source_1", "s0"];
const IMAGE_EXTS = new Set([".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"]);

interface Triple {
  name: string;
  a: string;
  b: string;
  f: string;
}

async function isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Image files of a folder by name without extension; two files with one stem are an error. */
async function imagesByStem(dir: string): Promise<Map<string, string>> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(`${dir}: ${err.code === "ENOENT" ? "folder not found" : err.message}`);
  });
  const out = new Map<string, string>();
  for (const e of entries) {
    const ext = extname(e.name).toLowerCase();
    if (!e.isFile() || !IMAGE_EXTS.has(ext)) continue;
    const stem = e.name.slice(0, -ext.length);
    const prev = out.get(stem);
    if (prev) throw new UserError(`${dir}: both ${prev} and ${e.name} exist; keep one image per name`);
    out.set(stem, e.name);
  }
  return out;
}

/** The grey plane the evaluators see: BT.601 luma rounded, 16-bit rescaled to 0..255. */
export function toGreyPlane(img: RasterImage): Plane {
  const grey = rgbToGrey(img);
  if (img.bitDepth === 8) return grey;
  const d = new Float64Array(grey.data.length);
  for (let i = 0; i < d.length; i++) d[i] = grey.data[i]! / 257;
  return { data: d, width: grey.width, height: grey.height };
}

async function findSources(taskDir: string, aFolder: string | undefined): Promise<[string, string]> {
  const entries = await readdir(taskDir, { withFileTypes: true });
  const dirs = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  if (dirs.length !== 2) {
    throw new UserError(
      `${taskDir}: expected exactly two modality folders, found ${dirs.length} (${dirs.join(", ") || "none"})`,
    );
  }
  let a: string | undefined;
  if (aFolder) {
    a = dirs.find((d) => d === aFolder);
    if (!a) throw new UserError(`--a ${aFolder}: not a subfolder of ${taskDir} (have ${dirs.join(", ")})`);
  } else {
    const known = dirs.filter((d) => A_FOLDERS.includes(d.toLowerCase()));
    if (known.length !== 1) {
      throw new UserError(
        `${taskDir}: cannot tell which of ${dirs.join(" and ")} is source A; pass --a <folder>`,
      );
    }
    a = known[0]!;
  }
  return [a, dirs.find((d) => d !== a)!];
}

function fmtJson(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

function fmtCell(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? v.toExponential(3) : v.toFixed(4);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** Writes an output file atomically; failures (missing folder, permissions) name the file. */
async function writeOutput(path: string, text: string, option: string): Promise<void> {
  try {
    await writeFileAtomic(path, text);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason =
      e.code === "ENOENT" ? "folder does not exist" : e.code === "EACCES" ? "permission denied" : e.message;
    throw new UserError(`${option} ${path}: cannot write (${reason})`);
  }
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export async function run(args: string[]): Promise<number> {
  const { values: v, positionals } = parseCommandArgs(args, argOptions, help);
  if (v.help) {
    console.log(help);
    return 0;
  }
  if (positionals.length > 0) throw new UserError(`unexpected argument '${positionals[0]}'\n\n${help}`);
  for (const req of ["data", "task", "fused"] as const) {
    if (!v[req]) throw new UserError(`--${req} is required\n\n${help}`);
  }
  const convention = (v.convention ?? "cddfuse") as Convention;
  if (!CONVENTIONS.includes(convention)) {
    throw new UserError(`--convention ${v.convention}: use one of ${CONVENTIONS.join(", ")}`);
  }
  let keys: string[] | undefined;
  if (v.metrics) {
    try {
      keys = resolveMetricKeys(
        v.metrics.split(",").filter((s) => s.trim() !== ""),
        convention,
      );
    } catch (err) {
      throw new UserError(`--metrics: ${(err as Error).message}`);
    }
    if (keys.length === 0) throw new UserError("--metrics: give at least one metric key");
  }

  const root = resolve(v.data!);
  const taskDir = join(root, v.task!);
  const fusedDir = resolve(v.fused!);
  if (!(await isDir(root))) throw new UserError(`--data ${v.data}: folder not found`);
  if (!(await isDir(taskDir))) {
    const tasks = (await readdir(root, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    throw new UserError(
      `--task ${v.task}: no folder ${taskDir} (tasks in ${root}: ${tasks.join(", ") || "none"})`,
    );
  }
  if (!(await isDir(fusedDir))) throw new UserError(`--fused ${v.fused}: folder not found`);
  // Check output folders before a possibly long run, so a typo does not cost the evaluation.
  for (const [option, path] of [
    ["--csv", v.csv],
    ["--json", v.json],
  ] as const) {
    if (path && !(await isDir(dirname(resolve(path))))) {
      throw new UserError(
        `${option} ${path}: cannot write (folder ${dirname(resolve(path))} does not exist)`,
      );
    }
  }
  const [modA, modB] = await findSources(taskDir, v.a);
  const [imgsA, imgsB, imgsF] = await Promise.all([
    imagesByStem(join(taskDir, modA)),
    imagesByStem(join(taskDir, modB)),
    imagesByStem(fusedDir),
  ]);

  // Pair by name and check sizes from the headers, so every problem is reported before any work.
  const problems: string[] = [];
  const triples: Triple[] = [];
  for (const name of [...new Set([...imgsA.keys(), ...imgsB.keys()])].sort()) {
    const a = imgsA.get(name);
    const b = imgsB.get(name);
    const f = imgsF.get(name);
    if (!a) problems.push(`${name}: no ${modA} image (only ${modB}/${b})`);
    else if (!b) problems.push(`${name}: no ${modB} image (only ${modA}/${a})`);
    else if (!f) problems.push(`${name}: no fused image ${name}.* in ${fusedDir}`);
    else triples.push({ name, a: join(taskDir, modA, a), b: join(taskDir, modB, b), f: join(fusedDir, f) });
  }
  const extra = [...imgsF.keys()].filter((n) => !imgsA.has(n) && !imgsB.has(n));
  const complete: Triple[] = [];
  for (const t of triples) {
    const sizes = await Promise.all(
      [t.a, t.b, t.f].map((p) =>
        sharp(p)
          .metadata()
          .then((m) => `${m.width}x${m.height}`)
          .catch((err: Error) => {
            throw new UserError(`${p}: cannot decode image (${err.message})`);
          }),
      ),
    );
    if (new Set(sizes).size > 1) {
      problems.push(`${t.name}: sizes differ (${modA} ${sizes[0]}, ${modB} ${sizes[1]}, fused ${sizes[2]})`);
    } else complete.push(t);
  }
  for (const p of problems) console.error(`fccf eval: ${p}`);
  if (extra.length > 0 && !v.quiet) {
    console.error(
      `fccf eval: ignoring ${extra.length} fused image(s) with no source pair: ${extra.join(", ")}`,
    );
  }
  if (problems.length > 0 && !v["allow-missing"]) {
    throw new UserError(
      `${problems.length} image(s) missing or mismatched (listed above); fix them, or pass --allow-missing to evaluate the ${complete.length} complete triple(s)`,
    );
  }
  if (complete.length === 0)
    throw new UserError(`no complete image triples for ${v.task} in ${taskDir} and ${fusedDir}`);

  const bar = new ProgressBar("evaluating", complete.length, v.quiet);
  const perImage: { name: string; values: number[] }[] = [];
  let infos: MetricInfo[] = [];
  for (const [i, t] of complete.entries()) {
    const [a, b, f] = await Promise.all([t.a, t.b, t.f].map(readImage));
    const results = evaluate(toGreyPlane(a!), toGreyPlane(b!), toGreyPlane(f!), {
      convention,
      metrics: keys,
    });
    infos = results;
    perImage.push({ name: t.name, values: results.map((r) => r.value) });
    bar.update(i + 1, t.name);
  }
  const mean = infos.map((_, k) => perImage.reduce((s, r) => s + r.values[k]!, 0) / perImage.length);
  const header = ["image", ...infos.map((m) => m.key)];

  console.log(`${v.task}: ${perImage.length} image(s), convention ${convention} (${modA} = A, ${modB} = B)`);
  console.log(
    table(header, [
      ...perImage.map((r) => [r.name, ...r.values.map(fmtCell)]),
      ["mean", ...mean.map(fmtCell)],
    ]),
  );
  const arrows = infos.map((m) => `${m.key}${m.better === "higher" ? "↑" : "↓"}`).join(" ");
  console.log(`better: ${arrows}`);
  if (problems.length > 0)
    console.log(`skipped ${problems.length} image(s) that are missing or mismatched (listed on stderr)`);

  if (v.csv) {
    const lines = [["image", "convention", ...infos.map((m) => m.key)].join(",")];
    for (const r of [...perImage, { name: "mean", values: mean }]) {
      lines.push([csvCell(r.name), convention, ...r.values.map((x) => String(x))].join(","));
    }
    await writeOutput(v.csv, `${lines.join("\n")}\n`, "--csv");
  }
  if (v.json) {
    const doc = {
      task: v.task,
      convention,
      data: taskDir,
      sources: { a: modA, b: modB },
      fused: fusedDir,
      metrics: infos.map(({ key, name, convention: c, better, range, definition, reference }) => ({
        key,
        name,
        convention: c,
        better,
        range,
        definition,
        reference,
      })),
      images: perImage.map((r) => ({
        name: r.name,
        values: Object.fromEntries(infos.map((m, k) => [m.key, fmtJson(r.values[k]!)])),
      })),
      mean: Object.fromEntries(infos.map((m, k) => [m.key, fmtJson(mean[k]!)])),
      skipped: problems,
    };
    await writeOutput(v.json, `${JSON.stringify(doc, null, 1)}\n`, "--json");
  }
  return 0;
}

const argOptions = {
  data: { type: "string" },
  task: { type: "string", short: "t" },
  fused: { type: "string" },
  convention: { type: "string", short: "c" },
  metrics: { type: "string" },
  csv: { type: "string" },
  json: { type: "string" },
  a: { type: "string" },
  "allow-missing": { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
} as const;

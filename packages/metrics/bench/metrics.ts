// `pnpm bench metrics`: times the CDDFuse-convention set on the 640x480 fixture triple
// mff_110_640_lap4 and compares with the Python reference's timings (fixtures timing.json).

import { readFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodePng } from "../src/conformance/png.js";
import type { Plane } from "../src/index.js";
import { computeMetric, evaluate, listMetrics, rgbToGrey } from "../src/index.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const fixtures = resolve(
  process.env.FCCF_METRICS_FIXTURES ?? join(here, "../../../../shared/fixtures/metrics"),
);
const CASE = "mff_110_640_lap4";
const RUNS = 21;

async function plane(suffix: string): Promise<Plane> {
  const path = join(fixtures, "cases", `${CASE}_${suffix}.png`);
  const png = decodePng(await readFile(path), path);
  const grey = rgbToGrey({ data: png.data, width: png.width, height: png.height, channels: png.channels });
  // float64 planes, as the Python reference was timed on float64 arrays (and no per-call conversion)
  return { data: Float64Array.from(grey.data), width: grey.width, height: grey.height };
}

let timing: { seconds: Record<string, number>; sum_seconds: number };
try {
  timing = JSON.parse(await readFile(join(fixtures, "timing.json"), "utf8"));
} catch {
  console.error(
    `bench metrics: cannot read ${join(fixtures, "timing.json")}; set FCCF_METRICS_FIXTURES to the fixtures folder`,
  );
  process.exit(1);
}
const [a, b, f] = await Promise.all([plane("A"), plane("B"), plane("F")]);
const keys = listMetrics("cddfuse").map((m) => m.key);

// Warm up the JIT, then take the median of RUNS timed calls per metric.
for (let i = 0; i < 3; i++) for (const k of keys) computeMetric(k, a, b, f);
const median = (xs: number[]): number => {
  const s = [...xs].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)]!;
};
// Wall time and this process's CPU time (user + system): on a loaded machine (the shared 2-core box
// runs training jobs) wall time includes waiting for a core, CPU time does not.
function time(fn: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}
const rows: [string, number, number, number][] = [];
for (const k of keys) {
  const t = Array.from({ length: RUNS }, () => time(() => computeMetric(k, a, b, f)));
  rows.push([
    k,
    median(t.map((x) => x.wall)),
    median(t.map((x) => x.cpu)),
    (timing.seconds[k] ?? Number.NaN) * 1000,
  ]);
}
// The whole set through evaluate(): the planes are converted once, as a user would call it.
const whole = Array.from({ length: RUNS }, () => time(() => evaluate(a, b, f, { convention: "cddfuse" })));
const total = median(whole.map((x) => x.wall));
const totalCpu = median(whole.map((x) => x.cpu));
const best = Math.min(...whole.map((x) => x.wall));
const pyTotal = timing.sum_seconds * 1000;

const pad = (s: string, n: number): string => s.padStart(n);
const load = loadavg()[0]!;
console.log(`metrics bench: CDDFuse set on ${CASE} (${a.width}x${a.height}), median of ${RUNS} runs`);
console.log(
  `machine: ${cpus().length} CPUs, load average ${load.toFixed(2)}${load > cpus().length ? " (overloaded: wall times include waiting for a core)" : ""}`,
);
console.log(
  `${"metric".padEnd(8)}${pad("wall ms", 9)}${pad("cpu ms", 9)}${pad("python ms", 11)}${pad("ratio(wall)", 13)}${pad("ratio(cpu)", 12)}`,
);
const line = (k: string, wall: number, cpu: number, py: number): string =>
  `${k.padEnd(8)}${pad(wall.toFixed(2), 9)}${pad(cpu.toFixed(2), 9)}${pad(py.toFixed(2), 11)}${pad(`${(py / wall).toFixed(1)}x`, 13)}${pad(`${(py / cpu).toFixed(1)}x`, 12)}`;
for (const [k, wall, cpu, py] of rows) console.log(line(k, wall, cpu, py));
console.log(line("total", total, totalCpu, pyTotal));
console.log(
  `best whole-set run: ${best.toFixed(2)} ms wall (${(pyTotal / best).toFixed(1)}x the Python total)`,
);
console.log("(float64 input like the Python timing; per-metric rows are computeMetric calls, the total is");
console.log(" one evaluate() call for the whole set)");
console.log(
  `target: whole set <= 75 ms, i.e. >= 20x the Python total: median wall ${total <= 75 ? "met" : "NOT met"}, median cpu ${totalCpu <= 75 ? "met" : "NOT met"}, best run ${best <= 75 ? "met" : "NOT met"}`,
);

// `pnpm bench metrics`: times the CDDFuse-convention set on the 640x480 fixture triple
// mff_110_640_lap4 and compares with the Python reference's timings (fixtures timing.json).

import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodePng } from "../src/conformance/png.js";
import { computeMetric, listMetrics, rgbToGrey } from "../src/index.js";
import type { Plane } from "../src/index.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const fixtures = resolve(process.env.FCCF_METRICS_FIXTURES ?? join(here, "../../../../shared/fixtures/metrics"));
const CASE = "mff_110_640_lap4";
const RUNS = 15;

async function plane(suffix: string): Promise<Plane> {
  const path = join(fixtures, "cases", `${CASE}_${suffix}.png`);
  const png = decodePng(await readFile(path), path);
  return rgbToGrey({ data: png.data, width: png.width, height: png.height, channels: png.channels });
}

let timing: { seconds: Record<string, number>; sum_seconds: number };
try {
  timing = JSON.parse(await readFile(join(fixtures, "timing.json"), "utf8"));
} catch {
  console.error(`bench metrics: cannot read ${join(fixtures, "timing.json")}; set FCCF_METRICS_FIXTURES to the fixtures folder`);
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
const rows: [string, number, number][] = [];
for (const k of keys) {
  const t: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    computeMetric(k, a, b, f);
    t.push(performance.now() - t0);
  }
  rows.push([k, median(t), (timing.seconds[k] ?? Number.NaN) * 1000]);
}
const whole: number[] = [];
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  for (const k of keys) computeMetric(k, a, b, f);
  whole.push(performance.now() - t0);
}
const total = median(whole);
const pyTotal = timing.sum_seconds * 1000;

const pad = (s: string, n: number): string => s.padStart(n);
console.log(`metrics bench: CDDFuse set on ${CASE} (${a.width}x${a.height}), median of ${RUNS} runs`);
console.log(`${"metric".padEnd(8)}${pad("fccf ms", 10)}${pad("python ms", 11)}${pad("speed-up", 10)}`);
for (const [k, ms, py] of rows) console.log(`${k.padEnd(8)}${pad(ms.toFixed(2), 10)}${pad(py.toFixed(2), 11)}${pad(`${(py / ms).toFixed(1)}x`, 10)}`);
console.log(`${"total".padEnd(8)}${pad(total.toFixed(2), 10)}${pad(pyTotal.toFixed(2), 11)}${pad(`${(pyTotal / total).toFixed(1)}x`, 10)}`);
console.log(`target: whole set <= 75 ms (>= 20x the Python total): ${total <= 75 ? "met" : "NOT met"}`);

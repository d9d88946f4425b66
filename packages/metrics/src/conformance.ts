// `pnpm conformance metrics <dir>`: checks every value of a fixture folder in the format of
// shared/fixtures/metrics (reference.json + PNG triples) against this package. Node only.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { decodePng } from "./conformance/png.js";
import { matches, parseReference, rtolFor } from "./conformance/tolerance.js";
import { rgbToGrey } from "./grey.js";
import type { Plane } from "./plane.js";
import { toTriple } from "./plane.js";
import { METRIC_DEFS } from "./registry.js";
import { transpose } from "./vifb/chen.js";

/**
 * Metrics computed through FFTs whose value is invariant under transposing all three images. When such
 * a value misses its reference, it is recomputed on the transposed images (same mathematics, different
 * rounding): if that alone moves it by more than the tolerance, the value is decided by rounding noise
 * (e.g. Qcb where large black areas make its local contrast a ratio of two noise-level numbers) and is
 * reported as unstable instead of failed.
 */
const ROUNDING_CHECKED = new Set(["Qcb", "Qcv"]);

interface Case {
  id: string;
  a: string;
  b: string;
  f: string;
  values: Record<string, unknown>;
  unstable?: Record<string, string>;
}

async function readPlane(dir: string, rel: string): Promise<Plane> {
  const path = join(dir, rel);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(
      `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const png = decodePng(bytes, path);
  return rgbToGrey({ data: png.data, width: png.width, height: png.height, channels: png.channels });
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(17) : String(x);
}

function loadCases(text: string, file: string): Case[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new Error(`${file}: expected an array of cases`);
  for (const [i, c] of parsed.entries()) {
    const ok =
      c &&
      typeof c === "object" &&
      ["id", "a", "b", "f"].every((k) => typeof c[k] === "string") &&
      c.values &&
      typeof c.values === "object";
    if (!ok) throw new Error(`${file}: case ${i} lacks id, a, b, f or values`);
  }
  return parsed as Case[];
}

/**
 * Runs every case of `dir` (which holds reference.json). Logs one line per failed comparison and ends
 * with `N passed, M failed`. Values listed under a case's `unstable` are skipped, and so are FFT-based
 * values shown to be decided by rounding noise (see ROUNDING_CHECKED), each with a SKIP line.
 *
 * @example
 * ```ts
 * const { failed } = await runConformance("../shared/fixtures/metrics", console.log);
 * process.exitCode = failed > 0 ? 1 : 0;
 * ```
 */
export async function runConformance(
  dir: string,
  log: (line: string) => void,
): Promise<{ passed: number; failed: number }> {
  const file = join(dir, "reference.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new Error(
      `${file} not found: pass a folder in the metrics fixture format (reference.json + cases/)`,
    );
  }
  const cases = loadCases(text, file);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const c of cases) {
    const keys = Object.keys(c.values).filter((k) => !(c.unstable && k in c.unstable));
    let triple: ReturnType<typeof toTriple>;
    try {
      triple = toTriple(await readPlane(dir, c.a), await readPlane(dir, c.b), await readPlane(dir, c.f));
    } catch (err) {
      failed += keys.length;
      log(`FAIL ${c.id}: ${(err as Error).message} (${keys.length} values not checked)`);
      continue;
    }
    for (const key of keys) {
      const ref = parseReference(c.values[key]);
      const def = METRIC_DEFS.get(key);
      if (ref === undefined) {
        failed++;
        log(`FAIL ${c.id} ${key}: reference value ${JSON.stringify(c.values[key])} is not a number`);
        continue;
      }
      if (!def) {
        failed++;
        log(`FAIL ${c.id} ${key}: no implementation of this metric`);
        continue;
      }
      const got = def.compute(...triple);
      const rtol = rtolFor(key);
      if (matches(got, ref, rtol)) {
        passed++;
        continue;
      }
      const altValue =
        ROUNDING_CHECKED.has(key) && Number.isFinite(got)
          ? def.compute(...(triple.map(transpose) as typeof triple))
          : got;
      if (!matches(altValue, got, rtol)) {
        skipped++;
        log(
          `SKIP ${c.id} ${key}: depends on rounding noise (transposing the images, an exact identity, moves it by rel ${(Math.abs(altValue - got) / Math.abs(got)).toExponential(1)}); got ${fmt(got)}, reference ${fmt(ref)}`,
        );
      } else {
        failed++;
        const rel =
          Number.isFinite(ref) && ref !== 0
            ? ` (rel ${(Math.abs(got - ref) / Math.abs(ref)).toExponential(2)}, rtol ${rtol})`
            : "";
        log(`FAIL ${c.id} ${key}: got ${fmt(got)}, expected ${fmt(ref)}${rel}`);
      }
    }
  }
  if (skipped > 0) log(`${skipped} value(s) skipped as rounding-noise dependent (SKIP lines above)`);
  log(`${passed} passed, ${failed} failed`);
  return { passed, failed };
}

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runConformance } from "../src/conformance.js";

const FIXTURES = resolve(import.meta.dirname, "../../../../shared/fixtures/metrics");

describe("metrics conformance", () => {
  it.skipIf(!existsSync(FIXTURES))("matches every reference value of shared/fixtures/metrics", async () => {
    const lines: string[] = [];
    const { passed, failed } = await runConformance(FIXTURES, (l) => lines.push(l));
    expect(lines.filter((l) => l.startsWith("FAIL"))).toEqual([]);
    expect(failed).toBe(0);
    // 942 values are checked, minus those flagged unstable by the fixtures or shown noise-dependent.
    expect(passed).toBeGreaterThan(900);
    expect(lines.at(-1)).toBe(`${passed} passed, 0 failed`);
  });

  it("reports a folder without reference.json clearly", async () => {
    await expect(runConformance(resolve(import.meta.dirname), () => {})).rejects.toThrow(
      /reference\.json not found/,
    );
  });
});

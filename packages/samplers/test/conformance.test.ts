import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runConformance } from "../src/conformance.js";
import { setWasmKernels } from "../src/kernels/kernel.js";

const FIXTURES = fileURLToPath(new URL("../../../../shared/fixtures/samplers", import.meta.url));

async function collect(dir: string) {
  const lines: string[] = [];
  const result = await runConformance(dir, (l) => lines.push(l));
  return { ...result, lines };
}

describe("sampler conformance against the diffusers / dpm-solver / UniPC reference trajectories", () => {
  it("passes every case of the fixture folder", async () => {
    const cases = (await readdir(FIXTURES)).filter(
      (f) => f.endsWith(".json") && !f.startsWith("alphas_cumprod_"),
    );
    const { passed, failed, lines } = await collect(FIXTURES);
    expect(lines.filter((l) => l.startsWith("FAIL"))).toEqual([]);
    expect(failed).toBe(0);
    expect(passed).toBe(cases.length);
    expect(passed).toBeGreaterThanOrEqual(294);
    expect(lines.at(-1)).toBe(`${cases.length} passed, 0 failed`);
  });

  it("passes every case with the JavaScript loops too (the fallback of the WebAssembly kernels)", async () => {
    setWasmKernels(false);
    try {
      const { failed, lines } = await collect(FIXTURES);
      expect(lines.filter((l) => l.startsWith("FAIL"))).toEqual([]);
      expect(failed).toBe(0);
    } finally {
      setWasmKernels(true);
    }
  });

  describe("on a scratch folder", () => {
    const withCases = async (fn: (dir: string) => Promise<void>) => {
      const dir = await mkdtemp(join(tmpdir(), "fccf-conformance-"));
      try {
        for (const f of [
          "alphas_cumprod_scaled_linear.json",
          "dpmpp_2m_midpoint-slin-10-eps-trailing.json",
        ]) {
          await writeFile(join(dir, f), await readFile(join(FIXTURES, f)));
        }
        await fn(dir);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    };

    it("reports a perturbed trajectory with its largest error", async () => {
      await withCases(async (dir) => {
        const file = join(dir, "dpmpp_2m_midpoint-slin-10-eps-trailing.json");
        const c = JSON.parse(await readFile(file, "utf8"));
        c.steps[4].x_prev[7] += 1e-6;
        await writeFile(file, JSON.stringify(c));
        const { passed, failed, lines } = await collect(dir);
        expect([passed, failed]).toEqual([0, 1]);
        expect(lines[0]).toMatch(
          /^FAIL dpmpp_2m_midpoint-slin-10-eps-trailing: largest error 4\.\d+e-7 .* at step 4 x_prev/,
        );
        expect(lines.at(-1)).toBe("0 passed, 1 failed");
      });
    });

    it("counts an unreadable case file as a failure", async () => {
      await withCases(async (dir) => {
        await writeFile(join(dir, "broken.json"), "{ not json");
        const { passed, failed, lines } = await collect(dir);
        expect([passed, failed]).toEqual([1, 1]);
        expect(lines[0]).toMatch(/^FAIL broken\.json: unreadable case file/);
      });
    });

    it("fails a case whose config asks for an unsupported option", async () => {
      await withCases(async (dir) => {
        const file = join(dir, "dpmpp_2m_midpoint-slin-10-eps-trailing.json");
        const c = JSON.parse(await readFile(file, "utf8"));
        c.config.use_beta_sigmas = true;
        await writeFile(file, JSON.stringify(c));
        const { failed, lines } = await collect(dir);
        expect(failed).toBe(1);
        expect(lines[0]).toContain(
          "option 'useBetaSigmas' of sampler 'dpm-solver++' must be one of false, got true",
        );
      });
    });
  });

  it("runs an original-code case from its solver arguments when it has no diffusers config", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fccf-conformance-"));
    try {
      await writeFile(
        join(dir, "alphas_cumprod_linear.json"),
        await readFile(join(FIXTURES, "alphas_cumprod_linear.json")),
      );
      for (const f of [
        "unipc_orig-unipc_bh2_3-lin-20-eps-sigmamin.json",
        "dpmsolver_orig-dpm_3m_heun-lin-5-eps-sigmamin.json",
      ]) {
        const c = JSON.parse(await readFile(join(FIXTURES, f), "utf8"));
        delete c.diffusers_equivalent.config;
        await writeFile(join(dir, f), JSON.stringify(c));
      }
      const { passed, failed } = await collect(dir);
      expect([passed, failed]).toEqual([2, 0]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rejects a folder that does not exist", async () => {
    await expect(runConformance("/nonexistent/fixtures", () => {})).rejects.toThrow(
      /cannot read fixture folder/,
    );
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it, vi } from "vitest";

describe("README", () => {
  it("example runs with only @fccf/metrics and prints the CDDFuse set", async () => {
    const readme = readFileSync(resolve(import.meta.dirname, "../README.md"), "utf8");
    const code = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const imports = [...code!.matchAll(/from "([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(imports)).toEqual(new Set(["@fccf/metrics"]));
    const src = pathToFileURL(resolve(import.meta.dirname, "../src/index.ts")).href;
    const dir = mkdtempSync(join(tmpdir(), "fccf-readme-"));
    const file = join(dir, "example.ts");
    writeFileSync(file, code!.replaceAll('"@fccf/metrics"', JSON.stringify(src)));
    const lines: string[] = [];
    const spy = vi
      .spyOn(console, "log")
      .mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
    try {
      await import(pathToFileURL(file).href);
    } finally {
      spy.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([
      "EN",
      "SD",
      "SF",
      "AG",
      "MI",
      "SCD",
      "VIF",
      "Qabf",
      "SSIM",
      "PSNR",
      "CC",
      "MSE",
      "Tang_MI",
    ]);
    expect(lines[0]).toMatch(/\(cddfuse, higher is better\)/);
    expect(Number(lines.at(-1)!.split(" ")[1])).toBeGreaterThan(0);
  });
});

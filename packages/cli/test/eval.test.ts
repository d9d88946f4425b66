import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { computeMetric, rgbToGrey } from "@fccf/metrics";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { run } from "../src/commands/eval.js";
import { UserError } from "../src/user-error.js";

const W = 24;
const H = 20;
let root: string;

/** Deterministic test pattern: a gradient plus a per-image ripple. */
function pattern(seed: number, channels: number): Uint8Array {
  const out = new Uint8Array(W * H * channels);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < channels; c++) {
        out[(y * W + x) * channels + c] = (x * 9 + y * 5 + seed * 31 + c * 40 + ((x * y * seed) % 23)) % 256;
      }
    }
  }
  return out;
}

async function png(path: string, data: Uint8Array, channels: 1 | 3, w = W, h = H): Promise<void> {
  await sharp(data, { raw: { width: w, height: h, channels } })
    .png()
    .toFile(path);
}

const names = ["p1", "p2", "p3"];
const sources = new Map<string, { a: Uint8Array; b: Uint8Array; f: Uint8Array }>();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "fccf-eval-"));
  await mkdir(join(root, "data/VI-IR/vi"), { recursive: true });
  await mkdir(join(root, "data/VI-IR/ir"), { recursive: true });
  await mkdir(join(root, "fused"), { recursive: true });
  for (const [i, name] of names.entries()) {
    const a = pattern(i + 1, 3); // visible is colour
    const b = pattern(i + 7, 1);
    const f = pattern(i + 13, 1);
    sources.set(name, { a, b, f });
    await png(join(root, "data/VI-IR/vi", `${name}.png`), a, 3);
    await png(join(root, "data/VI-IR/ir", `${name}.png`), b, 1);
    await png(join(root, "fused", `${name}.png`), f, 1);
  }
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function capture(): { out: string[]; err: string[]; restore: () => void } {
  const out: string[] = [];
  const err: string[] = [];
  const l = vi.spyOn(console, "log").mockImplementation((s: string) => void out.push(s));
  const e = vi.spyOn(console, "error").mockImplementation((s: string) => void err.push(s));
  return {
    out,
    err,
    restore: () => {
      l.mockRestore();
      e.mockRestore();
    },
  };
}

describe("fccf eval", () => {
  it("writes per-image and mean values that equal @fccf/metrics on the grey planes", async () => {
    const csv = join(root, "out.csv");
    const json = join(root, "out.json");
    const io = capture();
    try {
      const code = await run([
        "--data",
        join(root, "data"),
        "--task",
        "VI-IR",
        "--fused",
        join(root, "fused"),
        "--metrics",
        "EN,MI,Qabf,SSIM",
        "--csv",
        csv,
        "--json",
        json,
        "-q",
      ]);
      expect(code).toBe(0);
    } finally {
      io.restore();
    }
    expect(io.out.join("\n")).toMatch(/convention cddfuse \(vi = A, ir = B\)/);
    const doc = JSON.parse(await readFile(json, "utf8"));
    expect(doc.convention).toBe("cddfuse");
    expect(doc.metrics.map((m: { key: string }) => m.key)).toEqual(["EN", "MI", "Qabf", "SSIM"]);
    expect(doc.images.map((r: { name: string }) => r.name)).toEqual(names);
    const expected: Record<string, number[]> = { EN: [], MI: [], Qabf: [], SSIM: [] };
    for (const [i, name] of names.entries()) {
      const s = sources.get(name)!;
      const a = rgbToGrey({ data: s.a, width: W, height: H, channels: 3 });
      const b = { data: s.b, width: W, height: H };
      const f = { data: s.f, width: W, height: H };
      for (const key of Object.keys(expected)) {
        const want = computeMetric(key, a, b, f);
        expected[key]!.push(want);
        expect(doc.images[i].values[key]).toBe(want);
      }
    }
    for (const key of Object.keys(expected)) {
      const m = expected[key]!.reduce((s, x) => s + x, 0) / names.length;
      expect(doc.mean[key]).toBeCloseTo(m, 12);
    }
    const lines = (await readFile(csv, "utf8")).trim().split("\n");
    expect(lines[0]).toBe("image,convention,EN,MI,Qabf,SSIM");
    expect(lines).toHaveLength(names.length + 2);
    expect(lines[1]!.split(",").slice(0, 3)).toEqual(["p1", "cddfuse", String(expected.EN![0])]);
    expect(lines.at(-1)!.startsWith("mean,cddfuse,")).toBe(true);
  });

  it("names missing and mismatched images and fails unless --allow-missing", async () => {
    await png(join(root, "data/VI-IR/vi", "p4.png"), pattern(4, 3), 3);
    await png(join(root, "data/VI-IR/ir", "p4.png"), pattern(5, 1), 1);
    await png(join(root, "data/VI-IR/vi", "p5.png"), pattern(4, 3), 3);
    await png(join(root, "data/VI-IR/ir", "p5.png"), pattern(5, 1), 1);
    await png(join(root, "fused", "p5.png"), new Uint8Array(10 * 10), 1, 10, 10);
    const args = [
      "--data",
      join(root, "data"),
      "--task",
      "VI-IR",
      "--fused",
      join(root, "fused"),
      "--metrics",
      "EN",
      "-q",
    ];
    let io = capture();
    const err = await run(args).catch((e: unknown) => e);
    io.restore();
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/2 image\(s\) missing or mismatched/);
    expect(io.err.join("\n")).toMatch(/p4: no fused image/);
    expect(io.err.join("\n")).toMatch(/p5: sizes differ \(vi 24x20, ir 24x20, fused 10x10\)/);

    const json = join(root, "partial.json");
    io = capture();
    try {
      expect(await run([...args, "--allow-missing", "--json", json])).toBe(0);
    } finally {
      io.restore();
    }
    const doc = JSON.parse(await readFile(json, "utf8"));
    expect(doc.images.map((r: { name: string }) => r.name)).toEqual(names);
    expect(doc.skipped).toHaveLength(2);
    await rm(join(root, "data/VI-IR/vi/p4.png"));
    await rm(join(root, "data/VI-IR/ir/p4.png"));
    await rm(join(root, "data/VI-IR/vi/p5.png"));
    await rm(join(root, "data/VI-IR/ir/p5.png"));
    await rm(join(root, "fused/p5.png"));
  });

  it("follows the chosen convention", async () => {
    const json = join(root, "tang.json");
    const io = capture();
    try {
      await run([
        "--data",
        join(root, "data"),
        "--task",
        "VI-IR",
        "--fused",
        join(root, "fused"),
        "-c",
        "tang",
        "--metrics",
        "MI,PSNR",
        "--json",
        json,
        "-q",
      ]);
    } finally {
      io.restore();
    }
    const doc = JSON.parse(await readFile(json, "utf8"));
    expect(doc.metrics.map((m: { key: string; convention: string }) => [m.key, m.convention])).toEqual([
      ["Tang_MI", "tang"],
      ["Tang_PSNR", "tang"],
    ]);
  });

  it("measures 16-bit images on the 0..255 scale (value / 257)", async () => {
    const d16 = join(root, "d16");
    await mkdir(join(d16, "MED-PET/MRI"), { recursive: true });
    await mkdir(join(d16, "MED-PET/PET"), { recursive: true });
    await mkdir(join(d16, "fused"), { recursive: true });
    const mk = (seed: number): Uint16Array =>
      Uint16Array.from(pattern(seed, 1), (v, i) => v * 257 + (i % 200));
    const [a, b, f] = [mk(1), mk(2), mk(3)];
    const write = (path: string, data: Uint16Array) =>
      sharp(data, { raw: { width: W, height: H, channels: 1 } })
        .toColourspace("grey16")
        .png()
        .toFile(path);
    await write(join(d16, "MED-PET/MRI/x.png"), a);
    await write(join(d16, "MED-PET/PET/x.png"), b);
    await write(join(d16, "fused/x.png"), f);
    const json = join(root, "d16.json");
    const io = capture();
    try {
      await run([
        "--data",
        d16,
        "--task",
        "MED-PET",
        "--fused",
        join(d16, "fused"),
        "--metrics",
        "SD,MI,VIF",
        "--json",
        json,
        "-q",
      ]);
    } finally {
      io.restore();
    }
    const doc = JSON.parse(await readFile(json, "utf8"));
    expect(doc.sources).toEqual({ a: "MRI", b: "PET" });
    const plane = (x: Uint16Array) => ({ data: Float64Array.from(x, (v) => v / 257), width: W, height: H });
    for (const key of ["SD", "MI", "VIF"]) {
      expect(doc.images[0].values[key]).toBe(computeMetric(key, plane(a), plane(b), plane(f)));
    }
  });

  it("rejects bad options with specific messages and writes nothing", async () => {
    const base = ["--data", join(root, "data"), "--task", "VI-IR", "--fused", join(root, "fused"), "-q"];
    await expect(run([...base, "--metrics", "EN,NOPE"])).rejects.toThrow(/unknown metric 'NOPE'/);
    await expect(run([...base, "--convention", "matlab"])).rejects.toThrow(/use one of cddfuse, vifb, tang/);
    await expect(
      run(["--data", join(root, "data"), "--task", "MEF", "--fused", join(root, "fused")]),
    ).rejects.toThrow(/tasks in .*: VI-IR/);
    await expect(run(["--task", "VI-IR"])).rejects.toThrow(/--data is required/);
    const csv = join(root, "never.csv");
    await expect(run([...base, "--metrics", "EN,NOPE", "--csv", csv])).rejects.toThrow(UserError);
    await expect(readFile(csv)).rejects.toThrow(/ENOENT/);
    const io = capture();
    try {
      await expect(
        run([...base, "--metrics", "EN", "--json", join(root, "no/such/dir/x.json")]),
      ).rejects.toThrow(/--json .*x\.json: cannot write \(folder .*no\/such\/dir does not exist\)/);
    } finally {
      io.restore();
    }
  });
});

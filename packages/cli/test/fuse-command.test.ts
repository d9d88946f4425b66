// `fccf fuse` end to end with the shipped model: output, determinism, errors, no partial files.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { denoiseStrengthFor, SeededNoise } from "@fccf/core";
import { computeMetric, rgbToGrey } from "@fccf/metrics";
import { estimateNoise } from "@fccf/tasks";
import { afterAll, describe, expect, it, vi } from "vitest";
import { run } from "../src/commands/fuse.js";
import { readImage } from "../src/read-image.js";
import { UserError } from "../src/user-error.js";
import { writeImage } from "../src/write-image.js";
import { cardUnderTest } from "./model-under-test.js";

const samples = resolve(import.meta.dirname, "../../../samples");
const dir = await mkdtemp(join(tmpdir(), "fccf-fuse-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
vi.spyOn(console, "log").mockImplementation(() => {});

const card = cardUnderTest;

interface CardTask {
  name: string;
  strategy: "max" | "mean";
  strategies?: Partial<Record<"max" | "mean", number>>;
}

describe("fccf fuse", () => {
  it("fuses the embedded default pair into a colour image of the visible image's size", async () => {
    const out = join(dir, "default.png");
    expect(await run(["-m", await card(), "-o", out, "-q", "--mask", join(dir, "mask.png")])).toBe(0);
    const img = await readImage(out);
    expect([img.width, img.height, img.channels]).toEqual([512, 384, 3]);
    const mask = await readImage(join(dir, "mask.png"));
    expect([mask.width, mask.height, mask.channels]).toEqual([512, 384, 1]);
  });

  it("fuses the multi-focus sample into an image sharper than either source", async () => {
    const pa = join(samples, "MFF/a-source_1.png");
    const pb = join(samples, "MFF/b-source_2.png");
    const out = join(dir, "mff.png");
    expect(await run([pa, pb, "--task", "MFF", "-m", await card(), "-o", out, "-q"])).toBe(0);
    const [a, b, f] = await Promise.all([readImage(pa), readImage(pb), readImage(out)]).then((imgs) =>
      imgs.map((img) => rgbToGrey(img)),
    );
    // each source is in focus in one region only: an all-in-focus result has more fine detail (SF,
    // AG) than either, and carries more of the two sources' edges (Qabf) than either alone (a mask
    // that collapses onto one source scores exactly that source)
    for (const key of ["SF", "AG", "Qabf"]) {
      const best = Math.max(computeMetric(key, a!, b!, a!), computeMetric(key, a!, b!, b!));
      expect(computeMetric(key, a!, b!, f!), key).toBeGreaterThan(best * 1.02);
    }
  });

  it("gives the same bytes for the same seed and different bytes for another seed", async () => {
    const args = (seed: number, name: string) => [
      join(samples, "MED-PET/a-MRI.png"),
      join(samples, "MED-PET/b-PET.png"),
      "--task",
      "MED-PET",
      "-s",
      "0.02",
      "--steps",
      "3",
      "--seed",
      String(seed),
      "-m",
      "",
      "-q",
      "-o",
      join(dir, name),
    ];
    const c = await card();
    for (const [seed, name] of [
      [1, "s1.png"],
      [1, "s1b.png"],
      [2, "s2.png"],
    ] as const) {
      const a = args(seed, name);
      a[a.indexOf("-m") + 1] = c;
      expect(await run(a)).toBe(0);
    }
    const [s1, s1b, s2] = await Promise.all(
      ["s1.png", "s1b.png", "s2.png"].map((n) => readFile(join(dir, n))),
    );
    expect(s1!.equals(s1b!)).toBe(true);
    expect(s1!.equals(s2!)).toBe(false);
  });

  it("--denoise leaves clean sources as the composite and refines noisy ones by the card's rule", async () => {
    const c = await card();
    const tasks = (
      JSON.parse(await readFile(c, "utf8")) as {
        tasks: (CardTask & { denoise?: { sigma: number; strength: number }[] })[];
      }
    ).tasks;
    const rule = tasks.find((t) => t.name === "MED-PET")!.denoise!;
    expect(rule.length).toBeGreaterThan(0); // the shipped card names a rule per task
    const [mri, pet] = await Promise.all(
      ["MED-PET/a-MRI.png", "MED-PET/b-PET.png"].map((f) => readImage(join(samples, f))),
    );
    // the PET source with seeded Gaussian noise of std 25
    const draws = new Float64Array(pet!.data.length);
    new SeededNoise(11).fill(draws);
    const noisy = {
      ...pet!,
      data: Uint8Array.from(pet!.data, (v, i) => Math.min(255, Math.max(0, Math.round(v + 25 * draws[i]!)))),
    };
    await writeImage(join(dir, "pet-noisy.png"), noisy);
    const sigma = Math.max(estimateNoise(mri!), estimateNoise(noisy));
    const strength = denoiseStrengthFor(rule, sigma);
    expect(sigma).toBeGreaterThan(20);
    expect(strength).toBeGreaterThan(0); // the rule refines at this noise level
    const fuse = (b: string, name: string, ...extra: string[]) =>
      run([
        join(samples, "MED-PET/a-MRI.png"),
        b,
        "--task",
        "MED-PET",
        "-m",
        c,
        "-q",
        "-o",
        join(dir, name),
        ...extra,
      ]);
    const clean = join(samples, "MED-PET/b-PET.png");
    expect(await fuse(clean, "dn-clean.png", "--denoise")).toBe(0);
    expect(await fuse(clean, "dn-clean-0.png", "-s", "0")).toBe(0);
    expect(await fuse(join(dir, "pet-noisy.png"), "dn.png", "--denoise")).toBe(0);
    expect(await fuse(join(dir, "pet-noisy.png"), "dn-s.png", "-s", String(strength))).toBe(0);
    expect(await fuse(join(dir, "pet-noisy.png"), "dn-0.png", "-s", "0")).toBe(0);
    const [cleanDn, cleanComposite, dn, explicit, composite] = await Promise.all(
      ["dn-clean.png", "dn-clean-0.png", "dn.png", "dn-s.png", "dn-0.png"].map((n) => readFile(join(dir, n))),
    );
    expect(cleanDn!.equals(cleanComposite!)).toBe(true);
    expect(dn!.equals(explicit!)).toBe(true);
    expect(dn!.equals(composite!)).toBe(false);
  });

  it("--denoise reports the noise estimate and the strength it chose", async () => {
    const log = vi.spyOn(console, "log");
    log.mockClear();
    const c = await card();
    expect(await run(["--denoise", "-m", c, "-o", join(dir, "dn-report.png")])).toBe(0);
    expect(log.mock.calls.flat().join("\n")).toMatch(
      /denoise: estimated noise std \d+\.\d\/255 -> strength 0\b/,
    );
  });

  it("switches the strategy when the model was trained for both, and says so when not", async () => {
    const c = await card();
    const tasks = (JSON.parse(await readFile(c, "utf8")) as { tasks: CardTask[] }).tasks;
    const viIr = tasks.find((t) => t.name === "VI-IR")!;
    const other = viIr.strategy === "max" ? "mean" : "max";
    const fuse = (name: string, ...extra: string[]) => run(["-m", c, "-q", "-o", join(dir, name), ...extra]);
    expect(await fuse("st-default.png")).toBe(0);
    expect(await fuse("st-same.png", "--strategy", viIr.strategy)).toBe(0);
    const [byDefault, same] = await Promise.all(
      ["st-default.png", "st-same.png"].map((n) => readFile(join(dir, n))),
    );
    expect(byDefault!.equals(same!)).toBe(true);
    if (viIr.strategies?.[other] !== undefined) {
      expect(await fuse("st-other.png", "--strategy", other)).toBe(0);
      expect(byDefault!.equals(await readFile(join(dir, "st-other.png")))).toBe(false);
    } else {
      await expect(fuse("st-other.png", "--strategy", other)).rejects.toThrow(
        `was trained for VI-IR with strategy ${viIr.strategy} only, not '${other}'`,
      );
    }
    await expect(fuse("st-bad.png", "--strategy", "median")).rejects.toThrow(
      "--strategy median: expected max or mean",
    );
  });

  it("--register ngf adds the classical pre-registration, none leaves it out, auto only when B moved", async () => {
    const c = await card();
    const args = (name: string, ...extra: string[]) => [
      join(samples, "MEF/a-under.png"),
      join(samples, "MEF/b-over.png"),
      "--task",
      "MEF",
      "-m",
      c,
      "-q",
      "-o",
      join(dir, name),
      ...extra,
    ];
    expect(await run(args("reg-off.png", "--register", "none"))).toBe(0);
    expect(await run(args("reg-on.png", "--register", "ngf"))).toBe(0);
    const [off, on] = await Promise.all(["reg-off.png", "reg-on.png"].map((n) => readImage(join(dir, n))));
    expect([on!.width, on!.height, on!.channels]).toEqual([off!.width, off!.height, off!.channels]);
    expect(Buffer.from(on!.data).equals(Buffer.from(off!.data))).toBe(false);
    // the sample pair is aligned: "auto" leaves it as given, and the summary says so
    const log = vi.mocked(console.log);
    log.mockClear();
    const loud = args("reg-auto.png", "--register", "auto").filter((a) => a !== "-q");
    expect(await run(loud)).toBe(0);
    const auto = await readImage(join(dir, "reg-auto.png"));
    expect(Buffer.from(auto.data).equals(Buffer.from(off!.data))).toBe(true);
    expect(log.mock.calls.flat().join("\n")).toContain("register auto (B already aligned, left as given)");
    await expect(run(args("reg-bad.png", "--register", "sift"))).rejects.toThrow(
      "--register sift: expected ngf, auto, none",
    );
  });

  it("reports bad input as UserError and leaves no output behind", async () => {
    const out = join(dir, "never.png");
    const c = await card();
    await expect(
      run([
        join(samples, "MEF/a-under.png"),
        join(samples, "MED-PET/b-PET.png"),
        "--task",
        "MEF",
        "-m",
        c,
        "-o",
        out,
      ]),
    ).rejects.toThrow(/343x231 but .* is 256x256/);
    await expect(
      run([join(dir, "missing.png"), join(samples, "MEF/b-over.png"), "--task", "MEF", "-m", c, "-o", out]),
    ).rejects.toBeInstanceOf(UserError);
    await expect(
      run([join(samples, "MEF/a-under.png"), join(samples, "MEF/b-over.png"), "-m", c]),
    ).rejects.toThrow(/--task is required/);
    await expect(run(["--task", "VI-IR", "--strength", "1.5", "-m", c])).rejects.toThrow(
      /--strength 1.5: expected a number in \[0, 1\]/,
    );
    await expect(run(["--strength", "0.01", "--denoise", "-m", c, "-o", out])).rejects.toThrow(
      /either --strength or --denoise, not both/,
    );
    await expect(run(["-m", c, "-o", out, "--task", "X-RAY"])).rejects.toThrow(/unknown task 'X-RAY'/);
    await expect(run(["-m", c, "-o", out, "--sampler", "nonsense"])).rejects.toThrow(
      /unknown sampler 'nonsense'/,
    );
    await expect(run(["-m", join(dir, "nocard.json")])).rejects.toThrow(/cannot read the model card/);
    expect((await readdir(dir)).filter((n) => n.startsWith("never") || n.endsWith(".tmp"))).toEqual([]);
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { run } from "../src/commands/sample.js";
import { UserError } from "../src/user-error.js";

async function capture(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
    lines.push(a.join(" "));
  });
  try {
    const code = await run(args);
    return { code, out: lines.join("\n") };
  } finally {
    spy.mockRestore();
  }
}

async function json(args: string[]) {
  const { code, out } = await capture([...args, "--json"]);
  expect(code).toBe(0);
  return JSON.parse(out) as Record<string, number | string | boolean>;
}

afterEach(() => vi.restoreAllMocks());

describe("fccf sample", () => {
  it("prints the errors against the exact solution (default: DPM-Solver++ 2M, 20 steps)", async () => {
    const { code, out } = await capture(["-q"]);
    expect(code).toBe(0);
    expect(out).toContain("sampler     dpm-solver++");
    expect(out).toContain("plan        20 steps, 20 model calls, from t = 999 (sigma 14.61) to sigma 0");
    expect(out).toMatch(/one step before the end \(sigma 0\.2256\): +\d\.\d\de-3/);
  });

  it("is deterministic and its JSON reports the run", async () => {
    const a = await json(["-s", "unipc", "-n", "12", "--seed", "3"]);
    const b = await json(["-s", "unipc", "-n", "12", "--seed", "3"]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({
      sampler: "unipc",
      steps: 12,
      modelCalls: 12,
      stochastic: false,
      finalSigma: 0,
    });
    expect(a.errorPenultimate as number).toBeLessThan(0.05);
  });

  it("gives the same result whatever the model predicts (eps, x0, v)", async () => {
    const runs = [];
    for (const p of ["eps", "x0", "v"]) runs.push(await json(["-s", "heun", "-n", "8", "--prediction", p]));
    for (const r of runs.slice(1))
      expect(r.errorFinal as number).toBeCloseTo(runs[0]!.errorFinal as number, 9);
    expect(runs.map((r) => r.prediction)).toEqual(["epsilon", "sample", "v_prediction"]);
  });

  it("more steps land closer to the exact solution (Heun, as in the fixtures' convergence table)", async () => {
    const errs = [];
    for (const n of ["5", "10", "20"]) errs.push((await json(["-s", "heun", "-n", n])).errorFinal as number);
    expect(errs[1]).toBeLessThan(errs[0]! / 2);
    expect(errs[2]).toBeLessThan(errs[1]! / 2);
  });

  it("starts from noised data at a strength and seeds stochastic samplers", async () => {
    const half = await json(["-s", "ddim", "--strength", "0.5", "-n", "10", "-o", "clipSample=false"]);
    expect(half.startTimestep as number).toBeLessThanOrEqual(500);
    expect(half.modelCalls as number).toBeLessThan(10);
    const a = await json(["-s", "euler_a", "--seed", "1"]);
    const b = await json(["-s", "euler_a", "--seed", "2"]);
    expect(a.stochastic).toBe(true);
    expect(a.errorFinal).not.toBe(b.errorFinal);
  });

  it("lists the samplers", async () => {
    const { out } = await capture(["--list"]);
    for (const name of ["ddim", "dpm-solver++", "unipc", "lms", "pndm", "kdpm2"]) expect(out).toContain(name);
    expect(out).toContain("ddp-solver++");
  });

  it("reports bad input as user errors", async () => {
    await expect(run(["-s", "nope"])).rejects.toThrow(UserError);
    await expect(run(["-s", "nope"])).rejects.toThrow(/unknown sampler 'nope'/);
    await expect(run(["-o", "solverOrder=5"])).rejects.toThrow(
      /option 'solverOrder' of sampler 'dpm-solver\+\+' must be/,
    );
    await expect(run(["-n", "0"])).rejects.toThrow("--steps must be an integer >= 1, got '0'");
    await expect(run(["--prediction", "noise"])).rejects.toThrow(
      /--prediction: unknown prediction type 'noise'/,
    );
    await expect(run(["--schedule", "cubic"])).rejects.toThrow(/unknown --schedule 'cubic'/);
    await expect(run(["--strength", "2"])).rejects.toThrow(/--strength must be in \(0, 1\]/);
    await expect(run(["-o", "novalue"])).rejects.toThrow(/--option needs KEY=VALUE/);
    await expect(run(["--bogus"])).rejects.toThrow(UserError);
  });
});

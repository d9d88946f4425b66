import { describe, expect, it } from "vitest";
import {
  computeMetric,
  evaluate,
  listMetrics,
  METRICS,
  type Plane,
  resolveMetricKeys,
} from "../src/index.js";

// Large enough for every scale of VIF and MEF-SSIM (min side / 4 >= 11).
const W = 64;
const H = 56;

/** Deterministic textured image (values 0..253, so Tang's 254/255 joint-bin merge does not apply). */
function texture(seed: number): Plane {
  const data = new Uint8Array(W * H);
  let s = seed * 2654435761;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const x = i % W;
    const y = Math.floor(i / W);
    data[i] = Math.min(
      253,
      Math.round(100 + 60 * Math.sin((x + seed) / 5) * Math.cos(y / 7) + ((s >>> 16) % 40)),
    );
  }
  return { data, width: W, height: H };
}

const plane = (rows: number[][]): Plane => ({
  data: Float64Array.from(rows.flat()),
  width: rows[0]!.length,
  height: rows.length,
});

describe("known answers", () => {
  it("EN of two-level images", () => {
    const half = {
      data: Uint8Array.from({ length: 64 }, (_, i) => (i < 32 ? 10 : 200)),
      width: 8,
      height: 8,
    };
    expect(computeMetric("EN", half, half, half)).toBeCloseTo(1, 15);
    const quarter = {
      data: Uint8Array.from({ length: 64 }, (_, i) => (i < 16 ? 10 : 200)),
      width: 8,
      height: 8,
    };
    const h = -(0.25 * Math.log2(0.25) + 0.75 * Math.log2(0.75));
    expect(computeMetric("EN", quarter, quarter, quarter)).toBeCloseTo(h, 15);
    expect(computeMetric("VIFB_EN", quarter, quarter, quarter)).toBeCloseTo(h, 15);
    expect(computeMetric("Tang_EN", quarter, quarter, quarter)).toBeCloseTo(h, 15);
  });

  it("SD, SF and AG by hand", () => {
    const f = plane([
      [0, 1],
      [2, 3],
    ]);
    expect(computeMetric("SD", f, f, f)).toBeCloseTo(Math.sqrt(1.25), 15);
    // row differences 1, 1 (mean 1), column differences 2, 2 (mean 4)
    expect(computeMetric("SF", f, f, f)).toBeCloseTo(Math.sqrt(5), 15);
    // VIFB divides both sums by N = 4
    expect(computeMetric("VIFB_SF", f, f, f)).toBeCloseTo(Math.sqrt(10 / 4), 15);
    const ramp = { data: Float64Array.from({ length: 30 }, (_, i) => 3 * (i % 6)), width: 6, height: 5 };
    expect(computeMetric("AG", ramp, ramp, ramp)).toBeCloseTo(Math.sqrt(9 / 2), 14);
    expect(computeMetric("VIFB_AG", ramp, ramp, ramp)).toBeCloseTo((30 * Math.sqrt(9 / 2)) / 20, 14);
  });

  it("PSNR peaks differ by convention", () => {
    const zero = { data: new Uint8Array(16), width: 4, height: 4 };
    const ten = { data: new Uint8Array(16).fill(10), width: 4, height: 4 };
    expect(computeMetric("MSE", zero, zero, ten)).toBe(100);
    expect(computeMetric("PSNR", zero, zero, ten)).toBeCloseTo(0, 12); // peak max(F) = 10
    expect(computeMetric("Tang_PSNR", zero, zero, ten)).toBeCloseTo(20 * Math.log10((255 * 255) / 10), 12);
    expect(computeMetric("Tang_MSE", zero, zero, ten)).toBeCloseTo(100 / 255 ** 2, 15);
    expect(computeMetric("PSNR", ten, ten, ten)).toBe(Number.POSITIVE_INFINITY);
  });

  it("F = A = B gives the identities of each metric", () => {
    const f = texture(3);
    expect(computeMetric("SSIM", f, f, f)).toBeCloseTo(2, 12);
    expect(computeMetric("VIFB_SSIM", f, f, f)).toBeCloseTo(2, 12);
    expect(computeMetric("CC", f, f, f)).toBeCloseTo(1, 14);
    expect(computeMetric("VIF", f, f, f)).toBeCloseTo(2, 8);
    expect(computeMetric("Qcb", f, f, f)).toBeCloseTo(1, 12);
    expect(computeMetric("Qcv", f, f, f)).toBe(0);
    expect(computeMetric("CE", f, f, f)).toBe(0);
    expect(computeMetric("FMI_pixel", f, f, f)).toBe(1);
    expect(computeMetric("MS_SSIM", f, f, f)).toBeCloseTo(1, 9);
    const small = { data: f.data.subarray(0, 40 * 40), width: 40, height: 40 };
    expect(computeMetric("MS_SSIM", small, small, small)).toBe(Number.NEGATIVE_INFINITY); // 40/4 < 11
    expect(Number.isNaN(computeMetric("SCD", f, f, f))).toBe(true); // F - A is constant
    // MI(F, F) is the entropy of F: in nats for CDDFuse, in bits for Tang.
    const en = computeMetric("EN", f, f, f);
    expect(computeMetric("MI", f, f, f)).toBeCloseTo(2 * en * Math.LN2, 12);
    expect(computeMetric("Tang_MI", f, f, f)).toBeCloseTo(2 * en, 12);
  });

  it("Tang's MI merges grey levels 254 and 255 in the joint histogram only", () => {
    const f = { data: Uint8Array.from({ length: 4 }, (_, i) => [0, 254, 255, 255][i]!), width: 2, height: 2 };
    const h = -(0.25 * Math.log2(0.25) * 2 + 0.5 * Math.log2(0.5)); // 1.5 bits
    const joint = -(0.25 * Math.log2(0.25) + 0.75 * Math.log2(0.75));
    expect(computeMetric("Tang_MI", f, f, f)).toBeCloseTo(2 * (2 * h - joint), 12);
    expect(computeMetric("MI", f, f, f)).toBeCloseTo(2 * h * Math.LN2, 12);
  });
});

describe("invariants", () => {
  const a = texture(1);
  const b = texture(2);
  const f = texture(5);
  const asymmetric = new Set(["Nabf_TangArgOrder"]);

  it("every two-source metric is symmetric in A and B", () => {
    for (const { key } of listMetrics()) {
      if (asymmetric.has(key)) continue;
      const ab = computeMetric(key, a, b, f);
      const ba = computeMetric(key, b, a, f);
      if (!Number.isFinite(ab))
        expect(Object.is(ab, ba) || (Number.isNaN(ab) && Number.isNaN(ba)), key).toBe(true);
      else expect(Math.abs(ab - ba), key).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(ab)));
    }
  });

  it("is deterministic and independent of the input array type", () => {
    const a64 = { ...a, data: Float64Array.from(a.data) };
    const b16 = { ...b, data: Uint16Array.from(b.data) };
    const f32 = { ...f, data: Float32Array.from(f.data) };
    const x = evaluate(a, b, f, { metrics: listMetrics().map((m) => m.key) });
    const y = evaluate(a64, b16, f32, { metrics: listMetrics().map((m) => m.key) });
    expect(y.map((r) => r.value)).toEqual(x.map((r) => r.value));
  });

  it("evaluate() shares work between metrics without changing any value", () => {
    const keys = listMetrics().map((m) => m.key);
    const together = evaluate(a, b, f, { metrics: keys }).map((r) => r.value);
    expect(together).toEqual(keys.map((k) => computeMetric(k, a, b, f)));
  });

  it("MI and EN agree between the 8-bit level tables and the general labelling", () => {
    // Shifting A by 0.5 relabels its levels (MI only sees which pixels share a value) and makes it
    // non-integer, which sends MI down the sort-based labelling path; EN only reads F.
    const shifted = { ...a, data: Float64Array.from(a.data, (v) => v + 0.5) };
    expect(computeMetric("MI", shifted, b, f)).toBe(computeMetric("MI", a, b, f));
    expect(computeMetric("EN", shifted, b, f)).toBe(computeMetric("EN", a, b, f));
    expect(computeMetric("MI", a, b, f)).toBeGreaterThan(0);
  });

  it("values stay in their documented ranges", () => {
    const v = Object.fromEntries(
      evaluate(a, b, f, { metrics: listMetrics().map((m) => m.key) }).map((r) => [r.key, r.value]),
    );
    for (const k of ["Qabf", "VIFB_Qabf", "Qcb", "Nabf", "FMI_pixel", "FMI_dct"]) {
      expect(v[k], k).toBeGreaterThanOrEqual(0);
      expect(v[k], k).toBeLessThanOrEqual(1);
    }
    for (const k of ["CC", "Tang_CC"]) expect(Math.abs(v[k]!)).toBeLessThanOrEqual(1);
    for (const k of ["EN", "VIFB_EN", "Tang_EN"]) expect(v[k]).toBeLessThanOrEqual(8);
    expect(v.MI).toBeCloseTo(v.Tang_MI! * Math.LN2, 12); // no 254/255 values: nats vs bits only
    expect(v.Tang_PSNR! - 10 * Math.log10((255 * 255) / v.MSE!)).toBeCloseTo(20 * Math.log10(255), 10);
  });
});

describe("API", () => {
  it("evaluates the CDDFuse set by default and names the convention", () => {
    const r = evaluate(texture(1), texture(2), texture(3));
    expect(r.map((x) => x.key)).toEqual([
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
    ]);
    expect(new Set(r.map((x) => x.convention))).toEqual(new Set(["cddfuse"]));
    expect(r.find((x) => x.key === "MSE")!.better).toBe("lower");
  });

  it("describes all 40 metrics of the fixtures, each with a convention, direction and reference", () => {
    expect(Object.keys(METRICS)).toHaveLength(40);
    expect(listMetrics().map((m) => m.key)).toEqual(Object.keys(METRICS));
    expect(METRICS.Qcv.better).toBe("lower");
    expect(METRICS.Tang_MI.convention).toBe("tang");
    for (const m of Object.values(METRICS)) expect(m.reference.length, m.key).toBeGreaterThan(10);
    expect(listMetrics("vifb").every((m) => m.convention === "vifb")).toBe(true);
  });

  it("resolves names within a convention", () => {
    expect(resolveMetricKeys(["MI", "psnr", "VIFB_MI"], "tang")).toEqual(["Tang_MI", "Tang_PSNR", "VIFB_MI"]);
    expect(resolveMetricKeys(["MI"], "vifb")).toEqual(["VIFB_MI"]);
    expect(() => resolveMetricKeys(["MIX"])).toThrow(/unknown metric 'MIX'/);
  });

  it("rejects mismatched or malformed planes with specific messages", () => {
    const a = texture(1);
    const small = { data: new Uint8Array(4), width: 2, height: 2 };
    expect(() => evaluate(a, a, small)).toThrow(/fused image F is 2x2 but source A is 64x56/);
    expect(() => evaluate({ data: new Uint8Array(5), width: 2, height: 2 }, a, a)).toThrow(
      /source A: data has 5 samples but 2x2 needs 4/,
    );
    expect(() => computeMetric("NOPE", a, a, a)).toThrow(/unknown metric 'NOPE'/);
  });
});

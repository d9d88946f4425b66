// Tolerances of the fixture README: |mine - ref| <= max(rtol |ref|, 1e-10).

const RTOL_1E6 = new Set([
  "VIF",
  "Tang_VIF",
  "VIFB_SSIM",
  "SSIM",
  "Qabf",
  "VIFB_Qabf",
  "EI",
  "Nabf",
  "Nabf_TangArgOrder",
  "MS_SSIM",
  "FMI_pixel",
  "FMI_dct",
]);
const RTOL_1E5 = new Set(["Qcb", "Qcv"]);
export const ATOL = 1e-10;

/** Relative tolerance for a metric key (1e-9 for the exact statistics and histogram metrics). */
export function rtolFor(key: string): number {
  if (RTOL_1E5.has(key)) return 1e-5;
  if (RTOL_1E6.has(key)) return 1e-6;
  return 1e-9;
}

/** Reference values as stored: numbers, or "NaN" / "Infinity" / "-Infinity". */
export function parseReference(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (v === "NaN") return Number.NaN;
  if (v === "Infinity") return Number.POSITIVE_INFINITY;
  if (v === "-Infinity") return Number.NEGATIVE_INFINITY;
  return undefined;
}

/** Whether `got` matches `ref` (non-finite values must match in kind). */
export function matches(got: number, ref: number, rtol: number): boolean {
  if (!Number.isFinite(ref) || !Number.isFinite(got))
    return Object.is(got, ref) || (Number.isNaN(got) && Number.isNaN(ref));
  return Math.abs(got - ref) <= Math.max(rtol * Math.abs(ref), ATOL);
}

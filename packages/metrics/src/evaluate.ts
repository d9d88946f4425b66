import { type Plane, toTriple } from "./plane.js";
import { CONVENTIONS, type Convention, keysOf, METRIC_DEFS, type MetricInfo } from "./registry.js";

/** One computed value, naming the convention it follows. */
export interface MetricResult extends MetricInfo {
  /** The value; NaN, Infinity or -Infinity where the reference gives those. */
  readonly value: number;
}

export interface EvaluateOptions {
  /** Evaluate this convention's standard set (default "cddfuse"); ignored when `metrics` is given. */
  readonly convention?: Convention;
  /**
   * Metric keys to compute, e.g. ["EN", "MI", "VIFB_MI"]. Within a convention the unprefixed name also
   * works ("MI" with convention "tang" is "Tang_MI").
   */
  readonly metrics?: readonly string[];
}

/**
 * Resolves user-facing metric names to keys: an unprefixed name means the convention's own variant,
 * exact keys of any convention also work, case does not matter. Throws a RangeError listing the keys.
 *
 * @example
 * ```ts
 * import { resolveMetricKeys } from "@fccf/metrics";
 * resolveMetricKeys(["mi", "PSNR", "Qcb"], "tang"); // ["Tang_MI", "Tang_PSNR", "Qcb"]
 * ```
 */
export function resolveMetricKeys(names: readonly string[], convention: Convention = "cddfuse"): string[] {
  return names.map((raw) => {
    const name = raw.trim();
    // An unprefixed name means the convention's own variant ("MI" is Tang_MI under "tang").
    const inConvention = [...METRIC_DEFS.values()].find(
      (d) => d.convention === convention && d.name.toLowerCase() === name.toLowerCase(),
    );
    if (inConvention) return inConvention.key;
    if (METRIC_DEFS.has(name)) return name;
    const ci = [...METRIC_DEFS.keys()].find((k) => k.toLowerCase() === name.toLowerCase());
    if (ci) return ci;
    throw new RangeError(`unknown metric '${name}'; known: ${[...METRIC_DEFS.keys()].join(", ")}`);
  });
}

/**
 * Information about every metric (no values), optionally only one convention's set, in table order.
 *
 * @example
 * ```ts
 * import { listMetrics } from "@fccf/metrics";
 * for (const m of listMetrics("vifb")) console.log(m.key, m.better, m.reference);
 * ```
 */
export function listMetrics(convention?: Convention): MetricInfo[] {
  const keys = convention ? keysOf(convention) : [...METRIC_DEFS.keys()];
  return keys.map((k) => info(k));
}

function info(key: string): MetricInfo {
  const { compute: _c, ...rest } = METRIC_DEFS.get(key)!;
  return rest;
}

/**
 * Computes one metric for sources A, B and fused image F (greyscale planes of one size).
 *
 * @example
 * ```ts
 * import { computeMetric } from "@fccf/metrics";
 * const a = { data: new Uint8Array([0, 64, 128, 255]), width: 2, height: 2 };
 * const b = { data: new Uint8Array([255, 128, 64, 0]), width: 2, height: 2 };
 * computeMetric("MSE", a, b, a); // (0 + mean((b - a)^2)) / 2
 * ```
 */
export function computeMetric(key: string, a: Plane, b: Plane, f: Plane): number {
  const def = METRIC_DEFS.get(key);
  if (!def) throw new RangeError(`unknown metric '${key}'; known: ${[...METRIC_DEFS.keys()].join(", ")}`);
  const [ga, gb, gf] = toTriple(a, b, f);
  return def.compute(ga, gb, gf);
}

/**
 * Computes a set of metrics for A, B and F. By default the CDDFuse evaluator's set
 * (EN SD SF AG MI SCD VIF Qabf SSIM PSNR CC MSE).
 *
 * @example
 * ```ts
 * import { evaluate } from "@fccf/metrics";
 * const a = { data: new Uint8Array(64).map((_, i) => i * 4), width: 8, height: 8 };
 * const b = { data: new Uint8Array(64).map((_, i) => 255 - i * 4), width: 8, height: 8 };
 * const f = { data: new Uint8Array(64).map((_, i) => (a.data[i]! + b.data[i]!) >> 1), width: 8, height: 8 };
 * for (const r of evaluate(a, b, f, { metrics: ["EN", "MI", "Tang_MI"] })) {
 *   console.log(r.key, r.convention, r.value);
 * }
 * ```
 */
export function evaluate(a: Plane, b: Plane, f: Plane, options: EvaluateOptions = {}): MetricResult[] {
  const convention = options.convention ?? "cddfuse";
  if (!CONVENTIONS.includes(convention)) {
    throw new RangeError(`unknown convention '${String(convention)}'; use one of ${CONVENTIONS.join(", ")}`);
  }
  const keys = options.metrics ? resolveMetricKeys(options.metrics, convention) : keysOf(convention);
  const [ga, gb, gf] = toTriple(a, b, f);
  return keys.map((key) => {
    const def = METRIC_DEFS.get(key)!;
    return { ...info(key), value: def.compute(ga, gb, gf) };
  });
}

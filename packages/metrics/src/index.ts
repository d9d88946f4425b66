/**
 * @fccf/metrics: image-fusion quality metrics that reproduce the community's reference evaluators
 * (CDDFuse's Python evaluator, VIFB's and Linfeng Tang's MATLAB code), each result naming its
 * convention. No runtime dependencies; works in Node and in browsers.
 *
 * @example
 * ```ts
 * import { evaluate } from "@fccf/metrics";
 * const a = { data: new Uint8Array([10, 20, 30, 40]), width: 2, height: 2 };
 * const b = { data: new Uint8Array([40, 30, 20, 10]), width: 2, height: 2 };
 * const f = { data: new Uint8Array([25, 25, 25, 25]), width: 2, height: 2 };
 * evaluate(a, b, f, { metrics: ["MSE", "PSNR"] }); // [{ key: "MSE", convention: "cddfuse", value: 125, ... }, ...]
 * ```
 */

export type { EvaluateOptions, MetricResult } from "./evaluate.js";
export { computeMetric, evaluate, listMetrics, resolveMetricKeys } from "./evaluate.js";
export type { InterleavedImage } from "./grey.js";
export { rgbToGrey, rgbToGreyOpenCV } from "./grey.js";
export type { Plane } from "./plane.js";
export type { Convention, MetricInfo, MetricKey } from "./registry.js";
export { CONVENTIONS, METRICS } from "./registry.js";

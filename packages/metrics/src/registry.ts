// The table of every metric: key (as in the fixtures and the papers' tables), convention, direction,
// range and the reference implementation it reproduces.

import * as cdd from "./cddfuse/basic.js";
import { miNats } from "./cddfuse/mi.js";
import { ssimCddfuse } from "./cddfuse/ssim.js";
import { qabf } from "./internal/qabf.js";
import { vifMulti } from "./internal/vif.js";
import type { Gray } from "./plane.js";
import { tangMi, tangMse, tangPsnr } from "./tang/basic.js";
import { fmiDct, fmiPixel } from "./tang/fmi.js";
import { msSsimMef } from "./tang/mef-ssim.js";
import { nabf } from "./tang/nabf.js";
import { ce, ei, vifbAg, vifbEn, vifbPsnr, vifbRmse, vifbSf } from "./vifb/basic.js";
import { qcb, qcv } from "./vifb/chen.js";
import { vifbMi } from "./vifb/mi.js";
import { vifbSsim } from "./vifb/ssim.js";

/**
 * Which evaluator's definition a value follows:
 * - `cddfuse`: the Python `Evaluator` of MMIF-CDDFuse (also used by DDFM and many later repositories).
 * - `vifb`: the MATLAB metrics of the VIFB benchmark (xingchenzhang/VIFB).
 * - `tang`: Linfeng Tang's MATLAB evaluation (Evaluation-for-Image-Fusion; SeAFusion, PSFusion).
 */
export type Convention = "cddfuse" | "vifb" | "tang";

export const CONVENTIONS: readonly Convention[] = ["cddfuse", "vifb", "tang"];

/** Description of one metric. */
export interface MetricInfo {
  /** Key as in the fixtures, e.g. "MI", "VIFB_MI", "Tang_MI". */
  readonly key: string;
  /** Common name without the convention prefix, e.g. "MI". */
  readonly name: string;
  readonly convention: Convention;
  /** Which direction is better. */
  readonly better: "higher" | "lower";
  /** Range of values, informally. */
  readonly range: string;
  /** One-line definition. */
  readonly definition: string;
  /** "repository path/function" of the reference implementation it matches. */
  readonly reference: string;
}

interface MetricDef extends MetricInfo {
  readonly compute: (a: Gray, b: Gray, f: Gray) => number;
}

const CDD = "Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py";
const VIFB = "xingchenzhang/VIFB metrics/";
const TANG = "Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/";

const defs: MetricDef[] = [
  // CDDFuse Python evaluator
  {
    key: "EN",
    name: "EN",
    convention: "cddfuse",
    better: "higher",
    range: "0..8 bits",
    definition: "Shannon entropy of F's grey-level histogram (F rounded to uint8), log2.",
    reference: `${CDD} Evaluator.EN`,
    compute: (_a, _b, f) => cdd.en(f),
  },
  {
    key: "SD",
    name: "SD",
    convention: "cddfuse",
    better: "higher",
    range: ">= 0",
    definition: "Population standard deviation of F.",
    reference: `${CDD} Evaluator.SD`,
    compute: (_a, _b, f) => cdd.sd(f),
  },
  {
    key: "SF",
    name: "SF",
    convention: "cddfuse",
    better: "higher",
    range: ">= 0",
    definition:
      "sqrt(mean squared horizontal difference + mean squared vertical difference), each mean over its own difference array.",
    reference: `${CDD} Evaluator.SF`,
    compute: (_a, _b, f) => cdd.sf(f),
  },
  {
    key: "AG",
    name: "AG",
    convention: "cddfuse",
    better: "higher",
    range: ">= 0",
    definition: "Mean over all pixels of sqrt((Gx^2+Gy^2)/2), MATLAB `gradient` differences.",
    reference: `${CDD} Evaluator.AG`,
    compute: (_a, _b, f) => cdd.ag(f),
  },
  {
    key: "MI",
    name: "MI",
    convention: "cddfuse",
    better: "higher",
    range: ">= 0 nats",
    definition: "MI(F,A) + MI(F,B) in nats (sklearn mutual_info_score on the pixel values).",
    reference: `${CDD} Evaluator.MI (sklearn.metrics.mutual_info_score)`,
    compute: miNats,
  },
  {
    key: "SCD",
    name: "SCD",
    convention: "cddfuse",
    better: "higher",
    range: "-2..2",
    definition: "corr(A, F-B) + corr(B, F-A); NaN when F-A or F-B is constant.",
    reference: `${CDD} Evaluator.SCD`,
    compute: cdd.scd,
  },
  {
    key: "VIF",
    name: "VIF",
    convention: "cddfuse",
    better: "higher",
    range: ">= 0 (about 0..2; a sum of two)",
    definition:
      "VIF(A,F) + VIF(B,F), pixel-domain 4-scale VIF (vifp_mscale); a 0/0 pair counts as 1; scipy's operand swap for images smaller than the window.",
    reference: `${CDD} Evaluator.VIFF`,
    compute: (a, b, f) => vifMulti([a, b], f, "scipy", true).reduce((s, x) => s + x, 0),
  },
  {
    key: "Qabf",
    name: "Qabf",
    convention: "cddfuse",
    better: "higher",
    range: "0..1",
    definition: "Xydeas-Petrovic edge preservation, Sobel with zero padding, G = gF where gX == gF.",
    reference: `${CDD} Evaluator.Qabf`,
    compute: (a, b, f) => qabf(a, b, f, 1),
  },
  {
    key: "SSIM",
    name: "SSIM",
    convention: "cddfuse",
    better: "higher",
    range: "-2..2 (a sum of two)",
    definition:
      "SSIM(F,A) + SSIM(F,B), scikit-image 0.19 defaults: 7x7 box window, sample covariance, data_range 2.",
    reference: `${CDD} Evaluator.SSIM (skimage 0.19.3 structural_similarity)`,
    compute: ssimCddfuse,
  },
  {
    key: "PSNR",
    name: "PSNR",
    convention: "cddfuse",
    better: "higher",
    range: "dB; +Infinity when MSE = 0",
    definition: "10 log10(max(F)^2 / MSE) with MSE as below (peak is max(F), not 255).",
    reference: `${CDD} Evaluator.PSNR`,
    compute: cdd.psnr,
  },
  {
    key: "CC",
    name: "CC",
    convention: "cddfuse",
    better: "higher",
    range: "-1..1",
    definition: "(corr(A,F) + corr(B,F)) / 2; NaN when an image is constant.",
    reference: `${CDD} Evaluator.CC`,
    compute: cdd.cc,
  },
  {
    key: "MSE",
    name: "MSE",
    convention: "cddfuse",
    better: "lower",
    range: ">= 0 (0..255 scale)",
    definition: "(mean((A-F)^2) + mean((B-F)^2)) / 2.",
    reference: `${CDD} Evaluator.MSE`,
    compute: cdd.mseAB,
  },
  // VIFB
  {
    key: "VIFB_EN",
    name: "EN",
    convention: "vifb",
    better: "higher",
    range: "0..8 bits",
    definition: "Entropy of the 256-bin histogram of floor(F), log2.",
    reference: `${VIFB}metricsEntropy.m`,
    compute: (_a, _b, f) => vifbEn(f),
  },
  {
    key: "VIFB_SD",
    name: "SD",
    convention: "vifb",
    better: "higher",
    range: ">= 0",
    definition: "Population standard deviation of F.",
    reference: `${VIFB}metricsVariance.m`,
    compute: (_a, _b, f) => cdd.sd(f),
  },
  {
    key: "VIFB_SF",
    name: "SF",
    convention: "vifb",
    better: "higher",
    range: ">= 0",
    definition: "sqrt((sum of squared horizontal + vertical differences) / N).",
    reference: `${VIFB}metricsSpatial_frequency.m`,
    compute: (_a, _b, f) => vifbSf(f),
  },
  {
    key: "VIFB_AG",
    name: "AG",
    convention: "vifb",
    better: "higher",
    range: ">= 0",
    definition: "Sum of sqrt((Gx^2+Gy^2)/2) divided by (H-1)(W-1).",
    reference: `${VIFB}metricsAvg_gradient.m`,
    compute: (_a, _b, f) => vifbAg(f),
  },
  {
    key: "VIFB_MI",
    name: "MI",
    convention: "vifb",
    better: "higher",
    range: ">= 0 nats",
    definition: "MI(A,F) + MI(B,F) in nats after a min-max stretch of each image to 0..255 levels.",
    reference: `${VIFB}metricsMutinf.m`,
    compute: vifbMi,
  },
  {
    key: "VIFB_SSIM",
    name: "SSIM",
    convention: "vifb",
    better: "higher",
    range: "-2..2 (a sum of two)",
    definition:
      "SSIM(A,F) + SSIM(B,F), Wang's reference: 11x11 Gaussian (sigma 1.5), L = 255, valid window, mean of the map.",
    reference: `${VIFB}metricsSsim.m`,
    compute: vifbSsim,
  },
  {
    key: "VIFB_PSNR",
    name: "PSNR",
    convention: "vifb",
    better: "higher",
    range: "dB",
    definition:
      "20 log10(255 / sqrt(M)), M = (m(A,F)+m(B,F))/2, m(X,F) = sqrt(sum (X-F)^2)/N (a VIFB quirk).",
    reference: `${VIFB}metricsPsnr.m`,
    compute: vifbPsnr,
  },
  {
    key: "VIFB_RMSE",
    name: "RMSE",
    convention: "vifb",
    better: "lower",
    range: ">= 0",
    definition: "(m(A,F)+m(B,F))/2 with m(X,F) = sqrt(sum (X-F)^2)/N (not a true RMSE).",
    reference: `${VIFB}metricsRmse.m`,
    compute: vifbRmse,
  },
  {
    key: "VIFB_Qabf",
    name: "Qabf",
    convention: "vifb",
    better: "higher",
    range: "0..1",
    definition: "Qabf on the images multiplied by 255 (changes only the gX == gF branch).",
    reference: `${VIFB}metricsQabf.m`,
    compute: (a, b, f) => qabf(a, b, f, 255),
  },
  {
    key: "Qcb",
    name: "Qcb",
    convention: "vifb",
    better: "higher",
    range: "0..1",
    definition: "Chen-Blum: CSF-filtered local contrast preservation, saliency-weighted.",
    reference: `${VIFB}metricsQcb.m`,
    compute: qcb,
  },
  {
    key: "Qcv",
    name: "Qcv",
    convention: "vifb",
    better: "lower",
    range: ">= 0",
    definition: "Chen-Varshney: saliency-weighted CSF-filtered squared difference per 16x16 block.",
    reference: `${VIFB}metricsQcv.m`,
    compute: qcv,
  },
  {
    key: "CE",
    name: "CE",
    convention: "vifb",
    better: "lower",
    range: ">= 0 bits",
    definition:
      "(CE(A,F)+CE(B,F))/2, cross entropy of the 256-bin histograms over bins where both are non-zero.",
    reference: `${VIFB}metricsCross_entropy.m`,
    compute: ce,
  },
  {
    key: "EI",
    name: "EI",
    convention: "vifb",
    better: "higher",
    range: ">= 0",
    definition: "Mean Sobel gradient magnitude of F, replicate padding.",
    reference: `${VIFB}metricsEdge_intensity.m`,
    compute: (_a, _b, f) => ei(f),
  },
  // Tang
  {
    key: "Tang_EN",
    name: "EN",
    convention: "tang",
    better: "higher",
    range: "0..8 bits",
    definition: "entropy() of uint8 F (256 bins, log2).",
    reference: `${TANG}analysis_Reference.m -> entropy()`,
    compute: (_a, _b, f) => cdd.en(f),
  },
  {
    key: "Tang_SD",
    name: "SD",
    convention: "tang",
    better: "higher",
    range: ">= 0",
    definition: "Population standard deviation of F.",
    reference: `${TANG}SD_evaluation.m`,
    compute: (_a, _b, f) => cdd.sd(f),
  },
  {
    key: "Tang_SF",
    name: "SF",
    convention: "tang",
    better: "higher",
    range: ">= 0",
    definition: "Same as the cddfuse SF.",
    reference: `${TANG}SF_evaluation.m`,
    compute: (_a, _b, f) => cdd.sf(f),
  },
  {
    key: "Tang_AG",
    name: "AG",
    convention: "tang",
    better: "higher",
    range: ">= 0",
    definition: "Same as VIFB_AG (sum divided by (H-1)(W-1)).",
    reference: `${TANG}AG_evaluation.m`,
    compute: (_a, _b, f) => vifbAg(f),
  },
  {
    key: "Tang_MI",
    name: "MI",
    convention: "tang",
    better: "higher",
    range: ">= 0 bits",
    definition:
      "MI(F,A) + MI(F,B) in bits; the joint histogram merges levels 254 and 255 (Hab.m uint8 saturation).",
    reference: `${TANG}MI_evaluation.m + Hab.m`,
    compute: tangMi,
  },
  {
    key: "Tang_SCD",
    name: "SCD",
    convention: "tang",
    better: "higher",
    range: "-2..2",
    definition: "Same as the cddfuse SCD.",
    reference: `${TANG}analysis_SCD.m`,
    compute: cdd.scd,
  },
  {
    key: "Tang_VIF",
    name: "VIF",
    convention: "tang",
    better: "higher",
    range: ">= 0",
    definition:
      "VIF(A,F) + VIF(B,F) as vifp_mscale.m: NaN for 0/0, scales smaller than the window contribute nothing.",
    reference: `${TANG}vifp_mscale.m`,
    compute: (a, b, f) => vifMulti([a, b], f, "matlab", false).reduce((s, x) => s + x, 0),
  },
  {
    key: "Tang_PSNR",
    name: "PSNR",
    convention: "tang",
    better: "higher",
    range: "dB (about 48 dB above peak-255 PSNR)",
    definition: "20 log10(255 / sqrt(MSE on the [0,1] scale)).",
    reference: `${TANG}PSNR_evaluation.m`,
    compute: tangPsnr,
  },
  {
    key: "Tang_MSE",
    name: "MSE",
    convention: "tang",
    better: "lower",
    range: ">= 0 ([0,1] scale)",
    definition: "(mse(A,F)+mse(B,F))/2 / 255^2.",
    reference: `${TANG}MSE_evaluation.m`,
    compute: tangMse,
  },
  {
    key: "Tang_CC",
    name: "CC",
    convention: "tang",
    better: "higher",
    range: "-1..1",
    definition: "(corr(A,F)+corr(B,F))/2 (the code's mean(A) slip cancels).",
    reference: `${TANG}CC_evaluation.m`,
    compute: cdd.cc,
  },
  {
    key: "Nabf",
    name: "Nabf",
    convention: "tang",
    better: "lower",
    range: "0..1",
    definition: "Kumar's modified fusion-artifact measure, called as (F, A, B).",
    reference: `${TANG}analysis_nabf.m`,
    compute: (a, b, f) => nabf(f, a, b),
  },
  {
    key: "Nabf_TangArgOrder",
    name: "Nabf",
    convention: "tang",
    better: "lower",
    range: "0..1",
    definition:
      "Nabf called as (A, B, F) the way analysis_Reference.m does (A taken as the fused image); only to reproduce papers that used that script.",
    reference: `${TANG}analysis_Reference.m -> analysis_nabf.m`,
    compute: (a, b, f) => nabf(a, b, f),
  },
  {
    key: "MS_SSIM",
    name: "MS_SSIM",
    convention: "tang",
    better: "higher",
    range: "0..1; -Infinity when min(H,W)/4 < 11",
    definition: "Multi-scale MEF-SSIM (Ma et al.) with sequence [A, B], 3 levels; not Wang's MS-SSIM.",
    reference: `${TANG}analysis_ms_ssim.m`,
    compute: msSsimMef,
  },
  {
    key: "FMI_pixel",
    name: "FMI_pixel",
    convention: "tang",
    better: "higher",
    range: "0..1",
    definition: "Haghighat fast FMI on raw pixels, 3x3 windows, mean of (fmi_AF + fmi_BF)/2.",
    reference: `${TANG}analysis_fmi.m (feature 'none')`,
    compute: fmiPixel,
  },
  {
    key: "FMI_dct",
    name: "FMI_dct",
    convention: "tang",
    better: "higher",
    range: "0..1",
    definition: "Haghighat fast FMI on the orthonormal 2-D DCT-II of each image.",
    reference: `${TANG}analysis_fmi.m (feature 'dct')`,
    compute: fmiDct,
  },
];

export const METRIC_DEFS: ReadonlyMap<string, MetricDef> = new Map(defs.map((d) => [d.key, d]));

/** The standard set of each convention, in table order (FMI is O(N) but slow; it is in Tang's set). */
export function keysOf(convention: Convention): string[] {
  return defs.filter((d) => d.convention === convention).map((d) => d.key);
}

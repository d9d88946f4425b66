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

/** The three conventions, in the order of the README's table. */
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

const defs = {
  // CDDFuse Python evaluator
  /** Shannon entropy of F's grey-level histogram (F rounded to uint8), log2. Range 0..8 bits; higher is better. Convention `cddfuse`; matches Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py Evaluator.EN. */
  EN: {
    key: "EN",
    name: "EN",
    convention: "cddfuse",
    better: "higher",
    range: "0..8 bits",
    definition: "Shannon entropy of F's grey-level histogram (F rounded to uint8), log2.",
    reference: `${CDD} Evaluator.EN`,
    compute: cdd.enOfTriple,
  },
  /** Population standard deviation of F. Range >= 0; higher is better. Convention `cddfuse`; matches Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py Evaluator.SD. */
  SD: {
    key: "SD",
    name: "SD",
    convention: "cddfuse",
    better: "higher",
    range: ">= 0",
    definition: "Population standard deviation of F.",
    reference: `${CDD} Evaluator.SD`,
    compute: cdd.sdOfTriple,
  },
  /** sqrt(mean squared horizontal difference + mean squared vertical difference), each mean over its own difference array. Range >= 0; higher is better. Convention `cddfuse`; matches Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py Evaluator.SF. */
  SF: {
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
  /** Mean over all pixels of sqrt((Gx^2+Gy^2)/2), MATLAB `gradient` differences. Range >= 0; higher is better. Convention `cddfuse`; matches Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py Evaluator.AG. */
  AG: {
    key: "AG",
    name: "AG",
    convention: "cddfuse",
    better: "higher",
    range: ">= 0",
    definition: "Mean over all pixels of sqrt((Gx^2+Gy^2)/2), MATLAB `gradient` differences.",
    reference: `${CDD} Evaluator.AG`,
    compute: (_a, _b, f) => cdd.ag(f),
  },
  /** MI(F,A) + MI(F,B) in nats (sklearn mutual_info_score on the pixel values). Range >= 0 nats; higher is better. Convention `cddfuse`; matches Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py Evaluator.MI (sklearn.metrics.mutual_info_score). */
  MI: {
    key: "MI",
    name: "MI",
    convention: "cddfuse",
    better: "higher",
    range: ">= 0 nats",
    definition: "MI(F,A) + MI(F,B) in nats (sklearn mutual_info_score on the pixel values).",
    reference: `${CDD} Evaluator.MI (sklearn.metrics.mutual_info_score)`,
    compute: miNats,
  },
  /** corr(A, F-B) + corr(B, F-A); NaN when F-A or F-B is constant. Range -2..2; higher is better. Convention `cddfuse`; matches Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py Evaluator.SCD. */
  SCD: {
    key: "SCD",
    name: "SCD",
    convention: "cddfuse",
    better: "higher",
    range: "-2..2",
    definition: "corr(A, F-B) + corr(B, F-A); NaN when F-A or F-B is constant.",
    reference: `${CDD} Evaluator.SCD`,
    compute: cdd.scd,
  },
  /** VIF(A,F) + VIF(B,F), pixel-domain 4-scale VIF (vifp_mscale); a 0/0 pair counts as 1; scipy's operand swap for images smaller than the window. Range >= 0 (about 0..2; a sum of two); higher is better. Convention `cddfuse`; matches Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py Evaluator.VIFF. */
  VIF: {
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
  /** Xydeas-Petrovic edge preservation, Sobel with zero padding, G = gF where gX == gF. Range 0..1; higher is better. Convention `cddfuse`; matches Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py Evaluator.Qabf. */
  Qabf: {
    key: "Qabf",
    name: "Qabf",
    convention: "cddfuse",
    better: "higher",
    range: "0..1",
    definition: "Xydeas-Petrovic edge preservation, Sobel with zero padding, G = gF where gX == gF.",
    reference: `${CDD} Evaluator.Qabf`,
    compute: (a, b, f) => qabf(a, b, f, 1),
  },
  /** SSIM(F,A) + SSIM(F,B), scikit-image 0.19 defaults: 7x7 box window, sample covariance, data_range 2. Range -2..2 (a sum of two); higher is better. Convention `cddfuse`; matches Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py Evaluator.SSIM (skimage 0.19.3 structural_similarity). */
  SSIM: {
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
  /** 10 log10(max(F)^2 / MSE) with MSE as below (peak is max(F), not 255). Range dB; +Infinity when MSE = 0; higher is better. Convention `cddfuse`; matches Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py Evaluator.PSNR. */
  PSNR: {
    key: "PSNR",
    name: "PSNR",
    convention: "cddfuse",
    better: "higher",
    range: "dB; +Infinity when MSE = 0",
    definition: "10 log10(max(F)^2 / MSE) with MSE as below (peak is max(F), not 255).",
    reference: `${CDD} Evaluator.PSNR`,
    compute: cdd.psnr,
  },
  /** (corr(A,F) + corr(B,F)) / 2; NaN when an image is constant. Range -1..1; higher is better. Convention `cddfuse`; matches Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py Evaluator.CC. */
  CC: {
    key: "CC",
    name: "CC",
    convention: "cddfuse",
    better: "higher",
    range: "-1..1",
    definition: "(corr(A,F) + corr(B,F)) / 2; NaN when an image is constant.",
    reference: `${CDD} Evaluator.CC`,
    compute: cdd.cc,
  },
  /** (mean((A-F)^2) + mean((B-F)^2)) / 2. Range >= 0 (0..255 scale); lower is better. Convention `cddfuse`; matches Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py Evaluator.MSE. */
  MSE: {
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
  /** Entropy of the 256-bin histogram of floor(F), log2. Range 0..8 bits; higher is better. Convention `vifb`; matches xingchenzhang/VIFB metrics/metricsEntropy.m. */
  VIFB_EN: {
    key: "VIFB_EN",
    name: "EN",
    convention: "vifb",
    better: "higher",
    range: "0..8 bits",
    definition: "Entropy of the 256-bin histogram of floor(F), log2.",
    reference: `${VIFB}metricsEntropy.m`,
    compute: (_a, _b, f) => vifbEn(f),
  },
  /** Population standard deviation of F. Range >= 0; higher is better. Convention `vifb`; matches xingchenzhang/VIFB metrics/metricsVariance.m. */
  VIFB_SD: {
    key: "VIFB_SD",
    name: "SD",
    convention: "vifb",
    better: "higher",
    range: ">= 0",
    definition: "Population standard deviation of F.",
    reference: `${VIFB}metricsVariance.m`,
    compute: (_a, _b, f) => cdd.sd(f),
  },
  /** sqrt((sum of squared horizontal + vertical differences) / N). Range >= 0; higher is better. Convention `vifb`; matches xingchenzhang/VIFB metrics/metricsSpatial_frequency.m. */
  VIFB_SF: {
    key: "VIFB_SF",
    name: "SF",
    convention: "vifb",
    better: "higher",
    range: ">= 0",
    definition: "sqrt((sum of squared horizontal + vertical differences) / N).",
    reference: `${VIFB}metricsSpatial_frequency.m`,
    compute: (_a, _b, f) => vifbSf(f),
  },
  /** Sum of sqrt((Gx^2+Gy^2)/2) divided by (H-1)(W-1). Range >= 0; higher is better. Convention `vifb`; matches xingchenzhang/VIFB metrics/metricsAvg_gradient.m. */
  VIFB_AG: {
    key: "VIFB_AG",
    name: "AG",
    convention: "vifb",
    better: "higher",
    range: ">= 0",
    definition: "Sum of sqrt((Gx^2+Gy^2)/2) divided by (H-1)(W-1).",
    reference: `${VIFB}metricsAvg_gradient.m`,
    compute: (_a, _b, f) => vifbAg(f),
  },
  /** MI(A,F) + MI(B,F) in nats after a min-max stretch of each image to 0..255 levels. Range >= 0 nats; higher is better. Convention `vifb`; matches xingchenzhang/VIFB metrics/metricsMutinf.m. */
  VIFB_MI: {
    key: "VIFB_MI",
    name: "MI",
    convention: "vifb",
    better: "higher",
    range: ">= 0 nats",
    definition: "MI(A,F) + MI(B,F) in nats after a min-max stretch of each image to 0..255 levels.",
    reference: `${VIFB}metricsMutinf.m`,
    compute: vifbMi,
  },
  /** SSIM(A,F) + SSIM(B,F), Wang's reference: 11x11 Gaussian (sigma 1.5), L = 255, valid window, mean of the map. Range -2..2 (a sum of two); higher is better. Convention `vifb`; matches xingchenzhang/VIFB metrics/metricsSsim.m. */
  VIFB_SSIM: {
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
  /** 20 log10(255 / sqrt(M)), M = (m(A,F)+m(B,F))/2, m(X,F) = sqrt(sum (X-F)^2)/N (a VIFB quirk). Range dB; higher is better. Convention `vifb`; matches xingchenzhang/VIFB metrics/metricsPsnr.m. */
  VIFB_PSNR: {
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
  /** (m(A,F)+m(B,F))/2 with m(X,F) = sqrt(sum (X-F)^2)/N (not a true RMSE). Range >= 0; lower is better. Convention `vifb`; matches xingchenzhang/VIFB metrics/metricsRmse.m. */
  VIFB_RMSE: {
    key: "VIFB_RMSE",
    name: "RMSE",
    convention: "vifb",
    better: "lower",
    range: ">= 0",
    definition: "(m(A,F)+m(B,F))/2 with m(X,F) = sqrt(sum (X-F)^2)/N (not a true RMSE).",
    reference: `${VIFB}metricsRmse.m`,
    compute: vifbRmse,
  },
  /** Qabf on the images multiplied by 255 (changes only the gX == gF branch). Range 0..1; higher is better. Convention `vifb`; matches xingchenzhang/VIFB metrics/metricsQabf.m. */
  VIFB_Qabf: {
    key: "VIFB_Qabf",
    name: "Qabf",
    convention: "vifb",
    better: "higher",
    range: "0..1",
    definition: "Qabf on the images multiplied by 255 (changes only the gX == gF branch).",
    reference: `${VIFB}metricsQabf.m`,
    compute: (a, b, f) => qabf(a, b, f, 255),
  },
  /** Chen-Blum: CSF-filtered local contrast preservation, saliency-weighted. Range 0..1; higher is better. Convention `vifb`; matches xingchenzhang/VIFB metrics/metricsQcb.m. */
  Qcb: {
    key: "Qcb",
    name: "Qcb",
    convention: "vifb",
    better: "higher",
    range: "0..1",
    definition: "Chen-Blum: CSF-filtered local contrast preservation, saliency-weighted.",
    reference: `${VIFB}metricsQcb.m`,
    compute: qcb,
  },
  /** Chen-Varshney: saliency-weighted CSF-filtered squared difference per 16x16 block. Range >= 0; lower is better. Convention `vifb`; matches xingchenzhang/VIFB metrics/metricsQcv.m. */
  Qcv: {
    key: "Qcv",
    name: "Qcv",
    convention: "vifb",
    better: "lower",
    range: ">= 0",
    definition: "Chen-Varshney: saliency-weighted CSF-filtered squared difference per 16x16 block.",
    reference: `${VIFB}metricsQcv.m`,
    compute: qcv,
  },
  /** (CE(A,F)+CE(B,F))/2, cross entropy of the 256-bin histograms over bins where both are non-zero. Range >= 0 bits; lower is better. Convention `vifb`; matches xingchenzhang/VIFB metrics/metricsCross_entropy.m. */
  CE: {
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
  /** Mean Sobel gradient magnitude of F, replicate padding. Range >= 0; higher is better. Convention `vifb`; matches xingchenzhang/VIFB metrics/metricsEdge_intensity.m. */
  EI: {
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
  /** entropy() of uint8 F (256 bins, log2). Range 0..8 bits; higher is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/analysis_Reference.m -> entropy(). */
  Tang_EN: {
    key: "Tang_EN",
    name: "EN",
    convention: "tang",
    better: "higher",
    range: "0..8 bits",
    definition: "entropy() of uint8 F (256 bins, log2).",
    reference: `${TANG}analysis_Reference.m -> entropy()`,
    compute: (_a, _b, f) => cdd.en(f),
  },
  /** Population standard deviation of F. Range >= 0; higher is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/SD_evaluation.m. */
  Tang_SD: {
    key: "Tang_SD",
    name: "SD",
    convention: "tang",
    better: "higher",
    range: ">= 0",
    definition: "Population standard deviation of F.",
    reference: `${TANG}SD_evaluation.m`,
    compute: (_a, _b, f) => cdd.sd(f),
  },
  /** Same as the cddfuse SF. Range >= 0; higher is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/SF_evaluation.m. */
  Tang_SF: {
    key: "Tang_SF",
    name: "SF",
    convention: "tang",
    better: "higher",
    range: ">= 0",
    definition: "Same as the cddfuse SF.",
    reference: `${TANG}SF_evaluation.m`,
    compute: (_a, _b, f) => cdd.sf(f),
  },
  /** Same as VIFB_AG (sum divided by (H-1)(W-1)). Range >= 0; higher is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/AG_evaluation.m. */
  Tang_AG: {
    key: "Tang_AG",
    name: "AG",
    convention: "tang",
    better: "higher",
    range: ">= 0",
    definition: "Same as VIFB_AG (sum divided by (H-1)(W-1)).",
    reference: `${TANG}AG_evaluation.m`,
    compute: (_a, _b, f) => vifbAg(f),
  },
  /** MI(F,A) + MI(F,B) in bits; the joint histogram merges levels 254 and 255 (Hab.m uint8 saturation). Range >= 0 bits; higher is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/MI_evaluation.m + Hab.m. */
  Tang_MI: {
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
  /** Same as the cddfuse SCD. Range -2..2; higher is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/analysis_SCD.m. */
  Tang_SCD: {
    key: "Tang_SCD",
    name: "SCD",
    convention: "tang",
    better: "higher",
    range: "-2..2",
    definition: "Same as the cddfuse SCD.",
    reference: `${TANG}analysis_SCD.m`,
    compute: cdd.scd,
  },
  /** VIF(A,F) + VIF(B,F) as vifp_mscale.m: NaN for 0/0, scales smaller than the window contribute nothing. Range >= 0; higher is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/vifp_mscale.m. */
  Tang_VIF: {
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
  /** 20 log10(255 / sqrt(MSE on the [0,1] scale)). Range dB (about 48 dB above peak-255 PSNR); higher is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/PSNR_evaluation.m. */
  Tang_PSNR: {
    key: "Tang_PSNR",
    name: "PSNR",
    convention: "tang",
    better: "higher",
    range: "dB (about 48 dB above peak-255 PSNR)",
    definition: "20 log10(255 / sqrt(MSE on the [0,1] scale)).",
    reference: `${TANG}PSNR_evaluation.m`,
    compute: tangPsnr,
  },
  /** (mse(A,F)+mse(B,F))/2 / 255^2. Range >= 0 ([0,1] scale); lower is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/MSE_evaluation.m. */
  Tang_MSE: {
    key: "Tang_MSE",
    name: "MSE",
    convention: "tang",
    better: "lower",
    range: ">= 0 ([0,1] scale)",
    definition: "(mse(A,F)+mse(B,F))/2 / 255^2.",
    reference: `${TANG}MSE_evaluation.m`,
    compute: tangMse,
  },
  /** (corr(A,F)+corr(B,F))/2 (the code's mean(A) slip cancels). Range -1..1; higher is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/CC_evaluation.m. */
  Tang_CC: {
    key: "Tang_CC",
    name: "CC",
    convention: "tang",
    better: "higher",
    range: "-1..1",
    definition: "(corr(A,F)+corr(B,F))/2 (the code's mean(A) slip cancels).",
    reference: `${TANG}CC_evaluation.m`,
    compute: cdd.cc,
  },
  /** Kumar's modified fusion-artifact measure, called as (F, A, B). Range 0..1; lower is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/analysis_nabf.m. */
  Nabf: {
    key: "Nabf",
    name: "Nabf",
    convention: "tang",
    better: "lower",
    range: "0..1",
    definition: "Kumar's modified fusion-artifact measure, called as (F, A, B).",
    reference: `${TANG}analysis_nabf.m`,
    compute: (a, b, f) => nabf(f, a, b),
  },
  /** Nabf called as (A, B, F) the way analysis_Reference.m does (A taken as the fused image); only to reproduce papers that used that script. Range 0..1; lower is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/analysis_Reference.m -> analysis_nabf.m. */
  Nabf_TangArgOrder: {
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
  /** Multi-scale MEF-SSIM (Ma et al.) with sequence [A, B], 3 levels; not Wang's MS-SSIM. Range 0..1; -Infinity when min(H,W)/4 < 11; higher is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/analysis_ms_ssim.m. */
  MS_SSIM: {
    key: "MS_SSIM",
    name: "MS_SSIM",
    convention: "tang",
    better: "higher",
    range: "0..1; -Infinity when min(H,W)/4 < 11",
    definition: "Multi-scale MEF-SSIM (Ma et al.) with sequence [A, B], 3 levels; not Wang's MS-SSIM.",
    reference: `${TANG}analysis_ms_ssim.m`,
    compute: msSsimMef,
  },
  /** Haghighat fast FMI on raw pixels, 3x3 windows, mean of (fmi_AF + fmi_BF)/2. Range 0..1; higher is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/analysis_fmi.m (feature 'none'). */
  FMI_pixel: {
    key: "FMI_pixel",
    name: "FMI_pixel",
    convention: "tang",
    better: "higher",
    range: "0..1",
    definition: "Haghighat fast FMI on raw pixels, 3x3 windows, mean of (fmi_AF + fmi_BF)/2.",
    reference: `${TANG}analysis_fmi.m (feature 'none')`,
    compute: fmiPixel,
  },
  /** Haghighat fast FMI on the orthonormal 2-D DCT-II of each image. Range 0..1; higher is better. Convention `tang`; matches Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/analysis_fmi.m (feature 'dct'). */
  FMI_dct: {
    key: "FMI_dct",
    name: "FMI_dct",
    convention: "tang",
    better: "higher",
    range: "0..1",
    definition: "Haghighat fast FMI on the orthonormal 2-D DCT-II of each image.",
    reference: `${TANG}analysis_fmi.m (feature 'dct')`,
    compute: fmiDct,
  },
} satisfies Record<string, MetricDef>;

/** Every metric key, e.g. "MI", "VIFB_MI", "Tang_MI". */
export type MetricKey = keyof typeof defs;

export const METRIC_DEFS: ReadonlyMap<string, MetricDef> = new Map(
  Object.values(defs).map((d) => [d.key, d]),
);

/**
 * Description of every metric by key (definition, range, direction, convention, reference); hover a
 * key in an editor for its documentation.
 *
 * @example
 * ```ts
 * import { METRICS } from "@fccf/metrics";
 * METRICS.Qcv.better; // "lower"
 * METRICS.MI.convention; // "cddfuse"
 * ```
 */
export const METRICS: { readonly [K in MetricKey]: MetricInfo } = Object.fromEntries(
  Object.values(defs).map(({ compute: _compute, ...info }) => [info.key, Object.freeze(info)]),
) as { readonly [K in MetricKey]: MetricInfo };

/** The standard set of each convention, in table order. */
export function keysOf(convention: Convention): string[] {
  return Object.values(defs)
    .filter((d) => d.convention === convention)
    .map((d) => d.key);
}

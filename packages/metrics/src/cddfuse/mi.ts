// Mutual information as sklearn.metrics.mutual_info_score computes it on flattened pixel values
// (every distinct value is its own label), in nats.

import { sharedOfTriple } from "../internal/shared.js";
import type { Gray } from "../plane.js";

/** Labels in 0..k-1, one per distinct value of x, sorted by value. */
interface Labels {
  lab: Int32Array;
  k: number;
}

function labels(x: Float64Array): Labels {
  const lab = new Int32Array(x.length);
  const sorted = Float64Array.from(x).sort();
  const uniq: number[] = [];
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) uniq.push(sorted[i]!);
  const u = Float64Array.from(uniq);
  for (let i = 0; i < x.length; i++) {
    let lo = 0;
    let hi = u.length - 1;
    const v = x[i]!;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (u[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    lab[i] = lo;
  }
  return { lab, k: u.length };
}

/** A k x l contingency table of two labellings (row = first labelling). */
interface Joint {
  counts: Int32Array;
  k: number;
  l: number;
  n: number;
}

function jointOfLabels(x: Labels, y: Labels): Joint {
  const counts = new Int32Array(x.k * y.k);
  for (let i = 0; i < x.lab.length; i++) counts[x.lab[i]! * y.k + y.lab[i]!]!++;
  return { counts, k: x.k, l: y.k, n: x.lab.length };
}

/**
 * The (F, A) and (F, B) tables in one pass when all three planes hold integers 0..255 (8-bit data):
 * the grey level itself is then the label (256 labels; unused ones only give empty cells, which MI
 * skips). Null when any value is not such an integer.
 */
function levelJoints(a: Gray, b: Gray, f: Gray): { fa: Joint; fb: Joint } | null {
  const A = a.d;
  const B = b.d;
  const F = f.d;
  const n = F.length;
  const fa = new Int32Array(256 * 256);
  const fb = new Int32Array(256 * 256);
  for (let i = 0; i < n; i++) {
    const va = A[i]!;
    const vb = B[i]!;
    const vf = F[i]!;
    const ia = va | 0;
    const ib = vb | 0;
    const jf = vf | 0;
    // (x >>> 0) > 255 rejects negatives and values above 255 in one test
    if (ia !== va || ib !== vb || jf !== vf || ia >>> 0 > 255 || ib >>> 0 > 255 || jf >>> 0 > 255)
      return null;
    fa[(jf << 8) | ia]!++;
    fb[(jf << 8) | ib]!++;
  }
  return { fa: { counts: fa, k: 256, l: 256, n }, fb: { counts: fb, k: 256, l: 256, n } };
}

/** The level tables of a triple, shared by MI and EN within one evaluate() call. */
export function sharedLevelJoints(a: Gray, b: Gray, f: Gray): { fa: Joint; fb: Joint } | null {
  return sharedOfTriple(a, b, f, levelJoints);
}

/** Pixels per grey level of F (the row sums of a level table), for EN. */
export function levelCountsOfF(joint: Joint): Float64Array {
  const counts = new Float64Array(joint.k);
  for (let i = 0; i < joint.k; i++) {
    let s = 0;
    for (let j = 0; j < joint.l; j++) s += joint.counts[i * joint.l + j]!;
    counts[i] = s;
  }
  return counts;
}

const LOG_SMALL = Float64Array.from({ length: 4096 }, (_, c) => Math.log(c));

/** ln(c) of a count, from a table for small counts (they repeat a lot in joint histograms). */
function logCount(c: number): number {
  return c < 4096 ? LOG_SMALL[c]! : Math.log(c);
}

/** sklearn mutual_info_score of a contingency table in nats, with its |term| < eps zeroing and clipping at 0. */
function miOfJoint({ counts: joint, k, l, n }: Joint): number {
  const pi = new Float64Array(k);
  const pj = new Float64Array(l);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < l; j++) {
      const c = joint[i * l + j]!;
      pi[i]! += c;
      pj[j]! += c;
    }
  }
  // A constant labelling (one distinct value) has MI 0 by definition.
  if (pi.filter((c) => c > 0).length === 1 || pj.filter((c) => c > 0).length === 1) return 0;
  const logN = Math.log(n);
  // log(pi.sum()) + log(pj.sum()) is 2 log N; log(pi pj) = log pi + log pj (equal to ~1 ulp).
  const logSums = 2 * logN;
  const logPi = pi.map(logCount);
  const logPj = pj.map(logCount);
  let mi = 0;
  for (let i = 0; i < k; i++) {
    const lpi = logPi[i]!;
    for (let j = 0; j < l; j++) {
      const c = joint[i * l + j]!;
      if (c === 0) continue;
      const cn = c / n;
      const logOuter = -(lpi + logPj[j]!) + logSums;
      const term = cn * (logCount(c) - logN) + cn * logOuter;
      if (Math.abs(term) >= Number.EPSILON) mi += term;
    }
  }
  return Math.max(0, mi);
}

/** MI(F,A) + MI(F,B) in nats. */
export function miNats(a: Gray, b: Gray, f: Gray): number {
  const levels = sharedLevelJoints(a, b, f);
  if (levels) return miOfJoint(levels.fa) + miOfJoint(levels.fb);
  const lf = labels(f.d);
  return miOfJoint(jointOfLabels(lf, labels(a.d))) + miOfJoint(jointOfLabels(lf, labels(b.d)));
}

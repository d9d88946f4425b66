// Mutual information as sklearn.metrics.mutual_info_score computes it on flattened pixel values
// (every distinct value is its own label), in nats.

import type { Gray } from "../plane.js";

/** Labels in 0..k-1 (one per distinct value of x) and how many distinct values there are. */
interface Labels {
  lab: Int32Array;
  k: number;
  distinct: number;
}

/**
 * Labels for the distinct values of x. For 8-bit integer data the grey level itself is the label
 * (k = 256; unused labels only give empty histogram cells, which MI skips).
 */
function labels(x: Float64Array): Labels {
  const lab = new Int32Array(x.length);
  const seen = new Int32Array(256);
  let small = true;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const iv = v | 0;
    if (iv !== v || iv < 0 || iv > 255) {
      small = false;
      break;
    }
    lab[i] = iv;
    seen[iv] = 1;
  }
  if (small) {
    let distinct = 0;
    for (let v = 0; v < 256; v++) distinct += seen[v]!;
    return { lab, k: 256, distinct };
  }
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
  return { lab, k: u.length, distinct: u.length };
}

const LOG_SMALL = Float64Array.from({ length: 4096 }, (_, c) => Math.log(c));

/** ln(c) of a count, from a table for small counts (they repeat a lot in joint histograms). */
function logCount(c: number): number {
  return c < 4096 ? LOG_SMALL[c]! : Math.log(c);
}

/** sklearn mutual_info_score of two labellings in nats, with its |term| < eps zeroing and clipping at 0. */
function miOfLabels(X: Labels, Y: Labels): number {
  if (X.distinct === 1 || Y.distinct === 1) return 0;
  const n = X.lab.length;
  const joint = new Int32Array(X.k * Y.k);
  for (let i = 0; i < n; i++) joint[X.lab[i]! * Y.k + Y.lab[i]!]!++;
  const pi = new Float64Array(X.k);
  const pj = new Float64Array(Y.k);
  for (let i = 0; i < X.k; i++) {
    for (let j = 0; j < Y.k; j++) {
      const c = joint[i * Y.k + j]!;
      pi[i]! += c;
      pj[j]! += c;
    }
  }
  const logN = Math.log(n);
  // log(pi.sum()) + log(pj.sum()) is 2 log N; log(pi pj) = log pi + log pj (equal to ~1 ulp).
  const logSums = 2 * logN;
  const logPi = pi.map(logCount);
  const logPj = pj.map(logCount);
  let mi = 0;
  for (let i = 0; i < X.k; i++) {
    const lpi = logPi[i]!;
    for (let j = 0; j < Y.k; j++) {
      const c = joint[i * Y.k + j]!;
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
  const lf = labels(f.d);
  return miOfLabels(lf, labels(a.d)) + miOfLabels(lf, labels(b.d));
}

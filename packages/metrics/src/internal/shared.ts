// Work that several metrics of one evaluation need (pixel moments, grey-level labels), computed once.
// evaluate() and computeMetric() build fresh Gray objects for every call, so a cache keyed on them
// lives exactly as long as that call's triple and never sees a caller's later edits to the data.

import type { Gray } from "../plane.js";

const cache = new WeakMap<Gray, Map<(...args: never[]) => unknown, unknown>>();

/** `fn(x)` computed once per Gray object `x` (and per `fn`). */
export function sharedOf<T>(x: Gray, fn: (x: Gray) => T): T {
  let byFn = cache.get(x);
  if (!byFn) {
    byFn = new Map();
    cache.set(x, byFn);
  }
  if (byFn.has(fn)) return byFn.get(fn) as T;
  const value = fn(x);
  byFn.set(fn, value);
  return value;
}

/** `fn(a, b, f)` computed once per triple of Gray objects (and per `fn`). */
export function sharedOfTriple<T>(a: Gray, b: Gray, f: Gray, fn: (a: Gray, b: Gray, f: Gray) => T): T {
  let byFn = cache.get(f);
  if (!byFn) {
    byFn = new Map();
    cache.set(f, byFn);
  }
  const hit = byFn.get(fn) as { a: Gray; b: Gray; value: T } | undefined;
  if (hit && hit.a === a && hit.b === b) return hit.value;
  const value = fn(a, b, f);
  byFn.set(fn, { a, b, value });
  return value;
}

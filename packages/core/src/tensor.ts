/** The float element types fccf computes in. */
export type FloatArray = Float32Array | Float64Array;

/** The element types a tensor may carry across a {@link TensorBackend}. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/**
 * A dense row-major (C-order) tensor: a typed array and its dimensions.
 *
 * @example
 * ```ts
 * import { tensor } from "@fccf/core";
 * const x = tensor(new Float32Array(6), [1, 2, 3]);
 * x.dims; // [1, 2, 3]
 * ```
 */
export interface Tensor<A extends TensorData = FloatArray> {
  readonly data: A;
  readonly dims: readonly number[];
}

/** Number of elements of a shape. */
export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d} in [${dims.join(", ")}]`);
    n *= d;
  }
  return n;
}

/** Wraps `data` as a tensor of shape `dims`, checking that the sizes agree. */
export function tensor<A extends TensorData>(data: A, dims: readonly number[]): Tensor<A> {
  const n = sizeOf(dims);
  if (data.length !== n) {
    throw new RangeError(`tensor data has ${data.length} elements but shape [${dims.join(", ")}] needs ${n}`);
  }
  return { data, dims: [...dims] };
}

/** A zero-filled float32 (default) or float64 tensor. */
export function zeros(dims: readonly number[], dtype: "float32" | "float64" = "float32"): Tensor {
  const n = sizeOf(dims);
  return { data: dtype === "float64" ? new Float64Array(n) : new Float32Array(n), dims: [...dims] };
}

/** A new typed array of the same kind and length as `a` (zero-filled). */
export function emptyLike<A extends FloatArray>(a: A): A {
  return (a instanceof Float64Array ? new Float64Array(a.length) : new Float32Array(a.length)) as A;
}

/** A copy of `t` with its own buffer. */
export function clone<A extends TensorData>(t: Tensor<A>): Tensor<A> {
  return { data: t.data.slice() as A, dims: [...t.dims] };
}

/** True when two shapes are equal. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

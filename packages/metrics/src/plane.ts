/**
 * A greyscale image: `width * height` samples in row-major order.
 *
 * Integer planes hold grey levels directly (0..255 for 8-bit data). Every metric reads the samples as
 * float64 values on the scale they are given, exactly like the reference evaluators, which see the
 * decoded 0..255 integers. A 16-bit plane is therefore measured on 0..65535 unless you rescale it.
 *
 * @example
 * ```ts
 * import type { Plane } from "@fccf/metrics";
 * const plane: Plane = { data: new Uint8Array([0, 255, 255, 0]), width: 2, height: 2 };
 * ```
 */
export interface Plane {
  readonly data: Uint8Array | Uint16Array | Float32Array | Float64Array;
  readonly width: number;
  readonly height: number;
}

/** Internal float64 view of a plane; `d` may alias the caller's data when it already is a Float64Array. */
export interface Gray {
  readonly w: number;
  readonly h: number;
  readonly d: Float64Array;
}

/** Checks dimensions and converts to float64 (a copy unless the data is already a Float64Array). */
export function toGray(plane: Plane, what = "plane"): Gray {
  const { width, height, data } = plane;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`${what}: width and height must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height) {
    throw new RangeError(
      `${what}: data has ${data.length} samples but ${width}x${height} needs ${width * height}; pass one grey channel (see rgbToGrey)`,
    );
  }
  const d = data instanceof Float64Array ? data : new Float64Array(data);
  return { w: width, h: height, d };
}

/** Converts A, B and F, checking that they share one size. */
export function toTriple(a: Plane, b: Plane, f: Plane): [Gray, Gray, Gray] {
  const ga = toGray(a, "source A");
  const gb = toGray(b, "source B");
  const gf = toGray(f, "fused image F");
  for (const [g, name] of [
    [gb, "source B"],
    [gf, "fused image F"],
  ] as const) {
    if (g.w !== ga.w || g.h !== ga.h) {
      throw new RangeError(
        `${name} is ${g.w}x${g.h} but source A is ${ga.w}x${ga.h}; all three images must have the same size`,
      );
    }
  }
  return [ga, gb, gf];
}

// Reproducible Gaussian noise, bit-identical in every JavaScript engine: the generator uses only
// 32-bit integer arithmetic (Math.imul) and the normal transform uses only +, -, *, / and sqrt, which
// IEEE 754 rounds exactly. Math.log / Math.cos are not specified to be correctly rounded and differ
// between engines, so we do not use them.
import type { FloatArray } from "./tensor.js";

/** A source of standard-normal noise: fills `out` with the next `out.length` draws. */
export interface NoiseSource {
  fill(out: FloatArray): void;
}

/**
 * Seeded standard-normal generator (xoshiro128** + Marsaglia's polar method with a portable log).
 *
 * @example
 * ```ts
 * import { SeededNoise } from "@fccf/core";
 * const noise = new SeededNoise(42);
 * const x = new Float32Array(4);
 * noise.fill(x); // same four numbers in Node and in every browser
 * ```
 */
export class SeededNoise implements NoiseSource {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    // splitmix32 expands the seed into the 128-bit state, so nearby seeds give unrelated streams.
    let z = (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
    const next = () => {
      z = (z + 0x9e3779b9) | 0;
      let t = z ^ (z >>> 16);
      t = Math.imul(t, 0x21f0aaad);
      t ^= t >>> 15;
      t = Math.imul(t, 0x735a2d97);
      return (t ^ (t >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in (-1, 1) with 53 random bits. */
  private nextSigned(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return ((hi * 67108864 + lo) / 9007199254740992) * 2 - 1;
  }

  /** Next standard-normal draw. */
  nextGaussian(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = this.nextSigned();
      v = this.nextSigned();
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * portableLog(s)) / s);
    this.spare = v * m;
    this.hasSpare = true;
    return u * m;
  }

  fill(out: FloatArray): void {
    for (let i = 0; i < out.length; i++) out[i] = this.nextGaussian();
  }
}

/**
 * Replays recorded noise: each `fill` consumes the next recorded array, which must have the
 * requested length. Used to reproduce reference trajectories that recorded their noise.
 */
export class RecordedNoise implements NoiseSource {
  private index = 0;
  constructor(private readonly draws: readonly ArrayLike<number>[]) {}

  fill(out: FloatArray): void {
    const draw = this.draws[this.index];
    if (!draw) throw new RangeError(`recorded noise exhausted after ${this.index} draws`);
    if (draw.length !== out.length) {
      throw new RangeError(
        `recorded noise draw ${this.index} has ${draw.length} values, ${out.length} requested`,
      );
    }
    for (let i = 0; i < out.length; i++) out[i] = draw[i]!;
    this.index++;
  }

  /** How many recorded draws have been consumed. */
  get consumed(): number {
    return this.index;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const LN2 = Math.LN2;
const SQRT1_2 = Math.SQRT1_2;
const scratch = new DataView(new ArrayBuffer(8));

/**
 * Natural log of a positive finite double using only exactly-rounded operations, so every engine
 * gives the same bits: split x = m * 2^e with m in [sqrt(1/2), sqrt(2)), then
 * ln m = 2 atanh(r), r = (m-1)/(m+1), |r| <= 0.172, summed to full double precision.
 */
export function portableLog(x: number): number {
  if (!(x > 0) || !Number.isFinite(x))
    throw new RangeError(`portableLog needs a positive finite number, got ${x}`);
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 2 ** 54; // subnormal: normalise first
    e = -54;
  }
  scratch.setFloat64(0, x);
  const hi = scratch.getUint32(0);
  e += ((hi >>> 20) & 0x7ff) - 1023;
  scratch.setUint32(0, (hi & 0x800fffff) | (1023 << 20)); // exponent := 0, m in [1, 2)
  let m = scratch.getFloat64(0);
  if (m >= 2 * SQRT1_2) {
    m /= 2;
    e += 1;
  }
  const r = (m - 1) / (m + 1);
  const r2 = r * r;
  // Horner form of sum_{k>=0} r^(2k) / (2k+1); 13 terms reach 1e-19 for |r| <= 0.172.
  let sum = 1 / 27;
  for (let k = 12; k >= 0; k--) sum = 1 / (2 * k + 1) + r2 * sum;
  return e * LN2 + 2 * r * sum;
}

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
    // nextGaussian restructured for speed, with the same draws in the same order: the accepted
    // (u, v) pairs of a chunk are drawn first (a branch-free loop: a rejected pair is overwritten),
    // then their logs are taken in a loop without branches, whose long dependency chains the CPU
    // overlaps (one log after the other, as in nextGaussian, waits on each chain in turn).
    const n = out.length;
    let i = 0;
    if (n > 0 && this.hasSpare) {
      out[i++] = this.spare;
      this.hasSpare = false;
    }
    let pairs = Math.ceil((n - i) / 2);
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    while (pairs > 0) {
      const count = Math.min(CHUNK, pairs);
      let k = 0;
      while (k < count) {
        // Four xoshiro128** outputs: the high 27 and low 26 bits of u, then of v. Written out four
        // times on purpose: a helper would have to keep the state in an object or closure, which V8
        // does not keep in registers in this loop.
        let r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
        let t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = rotl(s3, 11);
        const uh = r >>> 5;
        r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
        t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = rotl(s3, 11);
        const ul = r >>> 6;
        r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
        t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = rotl(s3, 11);
        const vh = r >>> 5;
        r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
        t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = rotl(s3, 11);
        const vl = r >>> 6;
        // (k / 2^53) * 2 - 1 as in nextSigned: scaling by a power of two is exact either way.
        const u = (uh * 67108864 + ul) * TWO_POW_M52 - 1;
        const v = (vh * 67108864 + vl) * TWO_POW_M52 - 1;
        const q = u * u + v * v;
        PAIR_U[k] = u;
        PAIR_V[k] = v;
        PAIR_S[k] = q;
        k += Number(q < 1) * Number(q > 0);
      }
      for (k = 0; k < count; k++) {
        const q = PAIR_S[k]!;
        const m = Math.sqrt((-2 * logNormal(q, 0)) / q);
        out[i++] = PAIR_U[k]! * m;
        if (i < n) {
          out[i++] = PAIR_V[k]! * m;
        } else {
          this.spare = PAIR_V[k]! * m;
          this.hasSpare = true;
        }
      }
      pairs -= count;
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }
}

/** Accepted polar-method pairs of one chunk of SeededNoise.fill (JavaScript runs one fill at a time). */
const CHUNK = 256;
const PAIR_U = new Float64Array(CHUNK);
const PAIR_V = new Float64Array(CHUNK);
const PAIR_S = new Float64Array(CHUNK);

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
const TWO_POW_M52 = 2 ** -52;
const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
// Index of the word holding the sign and exponent (the high word) on this platform.
const HI = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f ? 1 : 0;
/** 1 / (2k + 1), k = 0..13: the atanh series terms, computed once instead of per call. */
const S = Float64Array.from({ length: 14 }, (_, k) => 1 / (2 * k + 1));
/** POW2[k] = 2^(k - 1023), k = 0..2046 (exact: repeated doubling). */
const POW2 = new Float64Array(2047);
POW2[1023] = 1;
for (let k = 1024; k < 2047; k++) POW2[k] = POW2[k - 1]! * 2;
for (let k = 1022; k >= 0; k--) POW2[k] = POW2[k + 1]! / 2;

/**
 * Natural log of a positive finite double using only exactly-rounded operations, so every engine
 * gives the same bits: split x = m * 2^e with m in [sqrt(1/2), sqrt(2)), then
 * ln m = 2 atanh(r), r = (m-1)/(m+1), |r| <= 0.172, summed to full double precision.
 */
export function portableLog(x: number): number {
  if (!(x > 0) || !Number.isFinite(x))
    throw new RangeError(`portableLog needs a positive finite number, got ${x}`);
  // Subnormal: normalise first.
  return x < 2.2250738585072014e-308 ? logNormal(x * 2 ** 54, -54) : logNormal(x, 0);
}

/** portableLog of a normal positive double x * 2^e0 (no checks). */
function logNormal(x: number, e0: number): number {
  bits[0] = x;
  let e = e0 + ((words[HI]! >>> 20) & 0x7ff) - 1023;
  // m = x / 2^e in [1, 2): scaling by a power of two is exact (the same bits as setting the
  // exponent field, without writing it back through memory).
  let m = x * POW2[1023 - (e - e0)]!;
  // m >= sqrt(2): halve m (exact) and raise e, without a branch (it would go either way at random).
  const up = Number(m >= 2 * SQRT1_2);
  m *= 1 - 0.5 * up;
  e += up;
  const r = (m - 1) / (m + 1);
  const r2 = r * r;
  // Horner form of sum_{k>=0} r^(2k) / (2k+1), k = 13 down to 0 (13 terms reach 1e-19 for
  // |r| <= 0.172), unrolled.
  let sum = S[13]!;
  sum = S[12]! + r2 * sum;
  sum = S[11]! + r2 * sum;
  sum = S[10]! + r2 * sum;
  sum = S[9]! + r2 * sum;
  sum = S[8]! + r2 * sum;
  sum = S[7]! + r2 * sum;
  sum = S[6]! + r2 * sum;
  sum = S[5]! + r2 * sum;
  sum = S[4]! + r2 * sum;
  sum = S[3]! + r2 * sum;
  sum = S[2]! + r2 * sum;
  sum = S[1]! + r2 * sum;
  sum = S[0]! + r2 * sum;
  return e * LN2 + 2 * r * sum;
}

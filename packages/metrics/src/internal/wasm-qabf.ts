// WebAssembly SIMD Qabf (two pixels per f64x2 step). Plain JavaScript spends most of Qabf in four
// Math.exp and three Math.atan calls per pixel; here exp is Cody-Waite range reduction + a degree-11
// polynomial + 2^n assembled in the exponent bits, and atan a table at 1/64 steps + an odd series, both accurate
// to ~1e-16 relative (Qabf's tolerance is 1e-6). The Sobel responses and edge strengths are computed
// with the same expressions as the JavaScript version (exact for integer images). qabf.ts falls back
// to JavaScript where WebAssembly SIMD is unavailable.

import {
  ADD,
  BLOCK,
  br,
  brIf,
  END,
  F64,
  GE_S,
  get,
  I32,
  i32c,
  LOOP,
  MUL,
  name,
  SHL,
  SUB,
  section,
  set,
  simd,
  uleb,
  vec,
} from "./wasm-asm.js";

const V128 = 0x7b;
const IF = [0x04, 0x40];
const I32_EQ = 0x46;
const CALL = (f: number): number[] => [0x10, f];
const f64c = (v: number): number[] => [0x44, ...new Uint8Array(Float64Array.of(v).buffer)];
const F64_LOAD = (offset: number): number[] => [0x2b, 3, ...uleb(offset)];
const F64_STORE = [0x39, 3, 0];
const F64_MUL = 0xa2;
const F64_ADD = 0xa0;
const F64_NEAREST = 0x9e;
const TRUNC_SAT = [0xfc, 0x02]; // i32.trunc_sat_f64_s
const V_LOAD = simd(0, 3, 0);
const SPLAT = simd(20);
const lane = (l: number): number[] => simd(33, l);
const replaceLane = (l: number): number[] => simd(34, l);
const V_EQ = simd(71);
const V_LT = simd(73);
const V_GT = simd(74);
const BITSELECT = simd(82);
const V_ABS = simd(236);
const V_NEG = simd(237);
const V_SQRT = simd(239);
const V_ADD = simd(240);
const V_SUB = simd(241);
const V_MUL = simd(242);
const V_DIV = simd(243);
const V_MIN = simd(244);
const V_MAX = simd(245);
const splat = (v: number): number[] => [...f64c(v), ...SPLAT];

/** Memory layout (bytes): atan(k/64) table, result pair, then the images. */
export const ATAN_AT = 0;
export const RESULT_AT = 1024;
export const IMAGES_AT = 2048;

const HALF_PI = Math.PI / 2;
const LOG2E = Math.LOG2E;
const LN2_HI = 0.6931471803691238; // ln 2 with its low 32 bits zero: n * LN2_HI is exact
const LN2_LO = 1.9082149292705877e-10;

// Function 1: exp of each lane, for inputs <= 40 (clamped below at -700, where it is ~1e-304).
// n = round(x log2 e) by adding 1.5 * 2^52 (the sum's low bits are then n as an integer), Cody-Waite
// reduction r = x - n ln 2, e^r by Taylor to degree 11, times 2^n built in the exponent bits.
// Locals: 0 x | 1 t, 2 n, 3 r (v128)
const MAGIC = 6755399441055744; // 1.5 * 2^52
const i64x2 = (v: bigint): number[] => {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setBigInt64(0, v, true);
  new DataView(b.buffer).setBigInt64(8, v, true);
  return [...simd(12), ...b];
};
const magicBits = new DataView(Float64Array.of(MAGIC).buffer).getBigInt64(0, true);
const I64X2_SHL = simd(203);
const I64X2_ADD = simd(206);
const I64X2_SUB = simd(209);
// biome-ignore format: one statement per line
const expBody: number[] = [
  ...get(0), ...splat(-700), ...V_MAX, ...set(0),
  ...get(0), ...splat(LOG2E), ...V_MUL, ...splat(MAGIC), ...V_ADD, ...set(1),
  ...get(1), ...splat(MAGIC), ...V_SUB, ...set(2),
  ...get(0), ...get(2), ...splat(LN2_HI), ...V_MUL, ...V_SUB, ...get(2), ...splat(LN2_LO), ...V_MUL, ...V_SUB, ...set(3),
  ...splat(1 / 39916800),
  ...[1 / 3628800, 1 / 362880, 1 / 40320, 1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1].flatMap((c) => [...get(3), ...V_MUL, ...splat(c), ...V_ADD]),
  ...get(1), ...i64x2(magicBits), ...I64X2_SUB, ...i64x2(1023n), ...I64X2_ADD, ...i32c(52), ...I64X2_SHL,
  ...V_MUL,
  END,
];

// Function 2: atan of each lane (finite inputs).
// Locals: 0 t | 1 k0, 2 k1 (f64) | 3 neg, 4 a, 5 inv, 6 u, 7 c, 8 tab, 9 d, 10 d2, 11 r (v128)
// biome-ignore format: one statement per line
const atanBody: number[] = [
  ...get(0), ...splat(0), ...V_LT, ...set(3),
  ...get(0), ...V_ABS, ...set(4),
  ...get(4), ...splat(1), ...V_GT, ...set(5),
  ...splat(1), ...get(4), ...V_DIV, ...get(4), ...get(5), ...BITSELECT, ...set(6),
  ...get(6), ...lane(0), ...f64c(64), F64_MUL, F64_NEAREST, ...set(1),
  ...get(6), ...lane(1), ...f64c(64), F64_MUL, F64_NEAREST, ...set(2),
  ...get(1), ...SPLAT, ...get(2), ...replaceLane(1), ...splat(1 / 64), ...V_MUL, ...set(7),
  ...get(1), ...TRUNC_SAT, ...i32c(3), SHL, ...F64_LOAD(ATAN_AT), ...SPLAT,
  ...get(2), ...TRUNC_SAT, ...i32c(3), SHL, ...F64_LOAD(ATAN_AT), ...replaceLane(1), ...set(8),
  // d = (u - c) / (1 + u c), |d| <= 1/128; atan(u) = atan(c) + atan(d)
  ...get(6), ...get(7), ...V_SUB, ...splat(1), ...get(6), ...get(7), ...V_MUL, ...V_ADD, ...V_DIV, ...set(9),
  ...get(9), ...get(9), ...V_MUL, ...set(10),
  ...splat(1 / 9),
  ...[-1 / 7, 1 / 5, -1 / 3, 1].flatMap((c) => [...get(10), ...V_MUL, ...splat(c), ...V_ADD]),
  ...get(9), ...V_MUL, ...get(8), ...V_ADD, ...set(11),
  ...splat(HALF_PI), ...get(11), ...V_SUB, ...get(11), ...get(5), ...BITSELECT, ...set(11),
  ...get(11), ...V_NEG, ...get(11), ...get(3), ...BITSELECT,
  END,
];

// Function 3: Q_XF * gX (params gX, aX, gF, aF), with the reference's G = gF quirk when gX == gF.
// Locals: 4 G, 5 A (v128)
// biome-ignore format: one statement per line
const qBody: number[] = [
  // G = min(gX, gF) / max(gX, gF) (= gF/gX or gX/gF as in the reference), or gF where gX == gF
  ...get(2),
  ...get(0), ...get(2), ...V_MIN, ...get(0), ...get(2), ...V_MAX, ...V_DIV,
  ...get(0), ...get(2), ...V_EQ, ...BITSELECT, ...set(4),
  ...splat(1), ...get(1), ...get(3), ...V_SUB, ...V_ABS, ...splat(HALF_PI), ...V_DIV, ...V_SUB, ...set(5),
  ...splat(0.9994), ...get(4), ...splat(0.5), ...V_SUB, ...splat(-15), ...V_MUL, ...CALL(1), ...splat(1), ...V_ADD, ...V_DIV,
  ...splat(0.9879), ...get(5), ...splat(0.8), ...V_SUB, ...splat(-22), ...V_MUL, ...CALL(1), ...splat(1), ...V_ADD, ...V_DIV,
  ...V_MUL, ...get(0), ...V_MUL,
  END,
];

// Function 0: qabf(pa, pb, pf, w, h, res) over zero-padded images ((w + 2) x (h + 2), byte offsets).
// Locals: 6 y, 7 x, 8 o, 9 pw8 (i32) | 10 nume, 11 deno, 12 sxA, 13 syA, 14 sxB, 15 syB, 16 sxF,
// 17 syF, 18 gA, 19 gB, 20 gF, 21 aF, 22 incN, 23 incD (v128)
const [PA, PB, PF, W, H, RES, Y, X, O, PW8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const [NUME, DENO, SXA, SYA, SXB, SYB, SXF, SYF, GA, GB, GF, AF, INCN, INCD] = [
  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
];

/** v128.load of the pixel at (row offset dRow in {-1, 0, 1}) x (column offset dCol) of image `base`. */
function load(base: number, dRow: number, dCol: number): number[] {
  const rowPart = dRow === 0 ? [] : [...get(PW8), dRow > 0 ? ADD : SUB];
  const colPart = dCol === 0 ? [] : [...i32c(8), dCol > 0 ? ADD : SUB];
  return [...get(base), ...get(O), ADD, ...rowPart, ...colPart, ...V_LOAD];
}

/** sx = tl - tr + 2 (l - r) + bl - br and sy = bl - tl + 2 (b - t) + br - tr, as in qabf.ts. */
// biome-ignore format: one statement per line
const sobel = (base: number, sx: number, sy: number): number[] => [
  ...load(base, -1, -1), ...load(base, -1, 1), ...V_SUB,
  ...splat(2), ...load(base, 0, -1), ...load(base, 0, 1), ...V_SUB, ...V_MUL, ...V_ADD,
  ...load(base, 1, -1), ...V_ADD, ...load(base, 1, 1), ...V_SUB, ...set(sx),
  ...load(base, 1, -1), ...load(base, -1, -1), ...V_SUB,
  ...splat(2), ...load(base, 1, 0), ...load(base, -1, 0), ...V_SUB, ...V_MUL, ...V_ADD,
  ...load(base, 1, 1), ...V_ADD, ...load(base, -1, 1), ...V_SUB, ...set(sy),
];
const strength = (sx: number, sy: number): number[] => [
  ...get(sx),
  ...get(sx),
  ...V_MUL,
  ...get(sy),
  ...get(sy),
  ...V_MUL,
  ...V_ADD,
  ...V_SQRT,
];
/** alpha = pi/2 where sx == 0, else atan(sy / sx) (dividing by 1 there keeps NaN out of the table lookup). */
// biome-ignore format: one statement per line
const angle = (sx: number, sy: number): number[] => [
  ...splat(HALF_PI),
  ...get(sy), ...splat(1), ...get(sx), ...get(sx), ...splat(0), ...V_EQ, ...BITSELECT, ...V_DIV, ...CALL(2),
  ...get(sx), ...splat(0), ...V_EQ, ...BITSELECT,
];

// biome-ignore format: one statement per line
const mainBody: number[] = [
  ...get(W), ...i32c(2), ADD, ...i32c(3), SHL, ...set(PW8),
  ...splat(0), ...set(NUME), ...splat(0), ...set(DENO),
  ...i32c(0), ...set(Y),
  ...BLOCK, ...LOOP,
  ...get(Y), ...get(H), GE_S, ...brIf(1),
  ...get(Y), ...i32c(1), ADD, ...get(W), ...i32c(2), ADD, MUL, ...i32c(1), ADD, ...i32c(3), SHL, ...set(O),
  ...i32c(0), ...set(X),
  ...BLOCK, ...LOOP,
  ...get(X), ...get(W), GE_S, ...brIf(1),
  ...sobel(PA, SXA, SYA), ...sobel(PB, SXB, SYB), ...sobel(PF, SXF, SYF),
  ...strength(SXA, SYA), ...set(GA), ...strength(SXB, SYB), ...set(GB), ...strength(SXF, SYF), ...set(GF),
  ...angle(SXF, SYF), ...set(AF),
  ...get(GA), ...get(GB), ...V_ADD, ...set(INCD),
  ...get(GA), ...angle(SXA, SYA), ...get(GF), ...get(AF), ...CALL(3),
  ...get(GB), ...angle(SXB, SYB), ...get(GF), ...get(AF), ...CALL(3), ...V_ADD, ...set(INCN),
  // odd width: the second lane of the last pair lies outside the image
  ...get(X), ...i32c(1), ADD, ...get(W), I32_EQ, ...IF,
  ...get(INCN), ...f64c(0), ...replaceLane(1), ...set(INCN),
  ...get(INCD), ...f64c(0), ...replaceLane(1), ...set(INCD),
  END,
  ...get(NUME), ...get(INCN), ...V_ADD, ...set(NUME),
  ...get(DENO), ...get(INCD), ...V_ADD, ...set(DENO),
  ...get(X), ...i32c(2), ADD, ...set(X),
  ...get(O), ...i32c(16), ADD, ...set(O),
  ...br(0), END, END,
  ...get(Y), ...i32c(1), ADD, ...set(Y),
  ...br(0), END, END,
  ...get(RES), ...get(NUME), ...lane(0), ...get(NUME), ...lane(1), F64_ADD, ...F64_STORE,
  ...get(RES), ...i32c(8), ADD, ...get(DENO), ...lane(0), ...get(DENO), ...lane(1), F64_ADD, ...F64_STORE,
  END,
];

const fn = (locals: number[][], body: number[]): number[] => {
  const f = [...vec(locals), ...body];
  return [...uleb(f.length), ...f];
};

// biome-ignore format: one section per line
const bytes = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vec([
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), 0x00],
    [0x60, ...vec([[V128]]), ...vec([[V128]])],
    [0x60, ...vec([[V128], [V128], [V128], [V128]]), ...vec([[V128]])],
  ])),
  ...section(3, vec([[0x00], [0x01], [0x01], [0x02]])),
  ...section(5, vec([[0x00, 0x01]])),
  ...section(7, vec([[...name("qabf"), 0x00, 0x00], [...name("memory"), 0x02, 0x00]])),
  ...section(10, vec([
    fn([[...uleb(4), I32], [...uleb(14), V128]], mainBody),
    fn([[...uleb(3), V128]], expBody),
    fn([[...uleb(2), F64], [...uleb(9), V128]], atanBody),
    fn([[...uleb(2), V128]], qBody),
  ])),
]);

interface Exports {
  memory: WebAssembly.Memory;
  qabf(pa: number, pb: number, pf: number, w: number, h: number, res: number): void;
}

let instance: Exports | null | undefined;

/** The compiled kernel with its tables written, or null where WebAssembly SIMD is unavailable. */
export function wasmQabf(): Exports | null {
  if (instance === undefined) {
    try {
      const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as Exports;
      const mem = new Float64Array(ex.memory.buffer);
      for (let k = 0; k <= 64; k++) mem[ATAN_AT / 8 + k] = Math.atan(k / 64);
      instance = ex;
    } catch {
      instance = null;
    }
  }
  return instance;
}

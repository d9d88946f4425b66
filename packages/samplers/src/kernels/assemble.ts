// Assembles a parsed kernel into a WebAssembly module (binary format, fixed-width SIMD). Two
// elements per vector, computed in f64x2: float32 arrays are widened on load and rounded on store
// exactly as JavaScript does (f32 -> f64 is exact, f64 -> f32 rounds to nearest even), and the
// double operations are the IEEE ones JavaScript uses, so results are bit-identical to the loop.
//
// The function takes (base address of each array, byte length to process, scalars...) and runs
// over the imported memory "e"."m"; the caller pads every array region to whole iterations.
import type { Node, Program } from "./parse.js";

/** Element type of the arrays a kernel instance works on. */
export type ElementType = "f32" | "f64";

/** Elements per loop iteration: two vectors of two lanes. */
export const ELEMENTS_PER_ITERATION = 4;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const str = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_ADD = 0x6a;
const I32_GE_U = 0x4f;
const END = 0x0b;

// SIMD opcodes (memarg immediates: align log2, offset).
const V128_LOAD = 0x00;
const V128_STORE = 0x0b;
const V128_CONST = 0x0c;
const I8X16_SHUFFLE = 0x0d;
const F64X2_SPLAT = 0x14;
const F32X4_DEMOTE_F64X2_ZERO = 0x5e;
const F64X2_PROMOTE_LOW_F32X4 = 0x5f;
const F64X2_ABS = 0xec;
const F64X2_NEG = 0xed;
const F64X2_BIN = { "+": 0xf0, "-": 0xf1, "*": 0xf2, "/": 0xf3 } as const;
// Pseudo-min/max: pmin(a, b) = b < a ? b : a, pmax(a, b) = a < b ? b : a.
const F64X2_PMIN = 0xf6;
const F64X2_PMAX = 0xf7;

const range = (from: number, n: number) => Array.from({ length: n }, (_, k) => from + k);
/** Bytes 8-15 of a vector moved to 0-7 (the high two float32 lanes, to widen them). */
const HIGH_TO_LOW = [...range(8, 8), ...range(8, 8)];
/** The low 8 bytes of two vectors side by side (two rounded pairs into one float32x4). */
const JOIN_LOWS = [...range(0, 8), ...range(16, 8)];

function f64Bytes(v: number): number[] {
  return Array.from(new Uint8Array(new Float64Array([v]).buffer));
}

/**
 * The module bytes of `program` for arrays of element type `type`. Each iteration handles four
 * elements as a low and a high f64x2 half; every statement is done for both halves before the next
 * one starts, so loads and stores of one element happen in the loop's order (arrays passed under
 * two names stay correct). Only plain v128 loads and stores touch memory: V8 does not keep
 * v128.load64_zero ordered after an aliasing store once a function is optimised.
 */
export function assemble(program: Program, type: ElementType): Uint8Array<ArrayBuffer> {
  const nA = program.arrays.length;
  const nS = program.scalars.length;
  const nL = program.locals.length;
  // Locals: params [bases (i32) x nA, bytes (i32), scalars (f64) x nS], then i (i32), a scratch
  // vector, splatted scalars x nS, kernel locals x nL (low halves) and x nL (high halves).
  const BYTES = nA;
  const scalarParam = (s: number) => nA + 1 + s;
  const I = nA + 1 + nS;
  const TMP = I + 1;
  const splat = (s: number) => TMP + 1 + s;
  const local = (l: number, high: boolean) => TMP + 1 + nS + l + (high ? nL : 0);
  // The value just stored to array a, for later statements reading a (see forwardedStores).
  const forward = (a: number, high: boolean) => TMP + 1 + nS + 2 * nL + a + (high ? nA : 0);
  const DL = TMP + 1 + nS + 2 * nL + 2 * nA;
  const DH = DL + 1;
  const forwards = forwardedStores(program);
  const forwarded = new Array<boolean>(nA).fill(false);
  const f32 = type === "f32";
  // Bytes per iteration (4 elements) and the offset of the high half for float64 arrays.
  const step = f32 ? 16 : 32;

  const get = (l: number) => [LOCAL_GET, ...uleb(l)];
  const address = (array: number) => [...get(array), ...get(I), I32_ADD];
  const load = (array: number, high: boolean): number[] => {
    if (!f32) return [...address(array), ...simd(V128_LOAD, 4, ...uleb(high ? 16 : 0))];
    const widen = simd(F64X2_PROMOTE_LOW_F32X4);
    const v = [...address(array), ...simd(V128_LOAD, 4, 0)];
    if (!high) return [...v, ...widen];
    return [...v, 0x22, ...uleb(TMP), ...get(TMP), ...simd(I8X16_SHUFFLE, ...HIGH_TO_LOW), ...widen];
  };
  const emit = (n: Node, high: boolean): number[] => {
    switch (n.k) {
      case "num":
        return simd(V128_CONST, ...f64Bytes(n.v), ...f64Bytes(n.v));
      case "array":
        return forwarded[n.i] ? get(forward(n.i, high)) : load(n.i, high);
      case "scalar":
        return get(splat(n.i));
      case "local":
        return get(local(n.i, high));
      case "neg":
        return [...emit(n.a, high), ...simd(F64X2_NEG)];
      case "abs":
        return [...emit(n.a, high), ...simd(F64X2_ABS)];
      case "bin":
        return [...emit(n.a, high), ...emit(n.b, high), ...simd(F64X2_BIN[n.op])];
      case "min":
        return [...emit(n.a, high), ...emit(n.b, high), ...simd(F64X2_PMIN)];
      case "max":
        return [...emit(n.a, high), ...emit(n.b, high), ...simd(F64X2_PMAX)];
    }
  };

  const body: number[] = [];
  for (let s = 0; s < nS; s++) {
    body.push(...get(scalarParam(s)), ...simd(F64X2_SPLAT), LOCAL_SET, ...uleb(splat(s)));
  }
  // while (i < bytes) { statements on elements i .. i + 3; i += step }
  body.push(0x02, 0x40, 0x03, 0x40);
  body.push(...get(I), ...get(BYTES), I32_GE_U, 0x0d, 1);
  const tee = (l: number) => [0x22, ...uleb(l)];
  const set = (l: number) => [LOCAL_SET, ...uleb(l)];
  for (const [k, st] of program.statements.entries()) {
    if (st.k === "let") {
      body.push(...emit(st.e, false), ...set(local(st.local, false)));
      body.push(...emit(st.e, true), ...set(local(st.local, true)));
      continue;
    }
    const a = st.array;
    const keep = forwards[k]!;
    if (f32) {
      const round = simd(F32X4_DEMOTE_F64X2_ZERO);
      const [lo, hi] = keep ? [tee(DL), tee(DH)] : [[], []];
      body.push(...address(a), ...emit(st.e, false), ...round, ...lo, ...emit(st.e, true), ...round, ...hi);
      body.push(...simd(I8X16_SHUFFLE, ...JOIN_LOWS), ...simd(V128_STORE, 4, 0));
      if (keep) {
        // The stored float32 values widened again: what a load of a would give, without the load.
        const widen = simd(F64X2_PROMOTE_LOW_F32X4);
        body.push(
          ...get(DL),
          ...widen,
          ...set(forward(a, false)),
          ...get(DH),
          ...widen,
          ...set(forward(a, true)),
        );
      }
    } else {
      const [lo, hi] = keep ? [tee(forward(a, false)), tee(forward(a, true))] : [[], []];
      body.push(...address(a), ...emit(st.e, false), ...lo, ...simd(V128_STORE, 4, 0));
      body.push(...address(a), ...emit(st.e, true), ...hi, ...simd(V128_STORE, 4, 16));
    }
    if (keep) forwarded[a] = true;
  }
  body.push(...get(I), 0x41, ...sleb(step), I32_ADD, LOCAL_SET, ...uleb(I));
  body.push(0x0c, 0, END, END, END);

  const params = [...new Array<number>(nA + 1).fill(I32), ...new Array<number>(nS).fill(F64)];
  const localDecls: number[][] = [
    [1, I32],
    [...uleb(1 + nS + 2 * nL + 2 * nA + 2), V128],
  ];
  const code = [...vec(localDecls), ...body];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec(params.map((p) => [p])), 0]])),
    ...section(2, vec([[...str("e"), ...str("m"), 0x02, 0x00, 0x00]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...str("k"), 0x00, 0]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ];
  return new Uint8Array(bytes);
}

function reads(n: Node, array: number): boolean {
  switch (n.k) {
    case "array":
      return n.i === array;
    case "neg":
    case "abs":
      return reads(n.a, array);
    case "bin":
    case "min":
    case "max":
      return reads(n.a, array) || reads(n.b, array);
    default:
      return false;
  }
}

/**
 * Per statement: whether it stores to an array that a later statement reads under the same name.
 * Such reads take the stored value from registers instead of memory: a load right after a store to
 * the same address costs these kernels about half a pass (store forwarding of vector stores). Only
 * valid while no other written name is the same array; {@link Arena.run} checks that.
 */
export function forwardedStores(program: Program): boolean[] {
  const st = program.statements;
  return st.map((s, k) => s.k === "store" && st.slice(k + 1).some((t) => reads(t.e, s.array)));
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

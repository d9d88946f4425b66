// WebAssembly SIMD helper for VIF (vif.ts): the per-pixel terms 1 + g^2 s1 / (sv + 2) and 1 + s1 / 2
// from the local moments, two pixels per f64x2 step. The reference's clamps are lane selects in the
// same order and with the same operations as the JavaScript loop, so the terms are bit-identical. It
// works in the memory of the filter kernel (wasm-pass.ts), where VIF keeps all its buffers.

import {
  ADD,
  BLOCK,
  br,
  brIf,
  END,
  GE_S,
  get,
  I32,
  i32c,
  LOOP,
  name,
  section,
  set,
  simd,
  uleb,
  vec,
} from "./wasm-asm.js";

const V128 = 0x7b;
const F64_MEMARG = [3, 0];
const V_LOAD = simd(0, ...F64_MEMARG);
const V_STORE = simd(11, ...F64_MEMARG);
const SPLAT = simd(20);
const BITSELECT = simd(82);
const V_LT = simd(73);
const V_LE = simd(75);
const V_ADD = simd(240);
const V_SUB = simd(241);
const V_MUL = simd(242);
const V_DIV = simd(243);
const f64c = (v: number): number[] => [0x44, ...new Uint8Array(Float64Array.of(v).buffer)];
const splat = (v: number): number[] => [...f64c(v), ...SPLAT];

const EPS = 1e-10;
const SIGMA_NSQ = 2;

// terms(mu1, mu2, e11, e22, e12, tn, td, count): byte offsets of f64 arrays, count pixels (an odd
// count computes one extra lane into the arrays' padding).
const [MU1, MU2, E11, E22, E12, TN, TD, COUNT, I] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const [M1, M2, S1, S2, S12, G, SV, MASK] = [9, 10, 11, 12, 13, 14, 15, 16];
const at = (base: number): number[] => [...get(base), ...get(I), ADD];
/** x = mask ? value : x, for a v128 local x. */
const select = (x: number, value: number[]): number[] => [
  ...value,
  ...get(x),
  ...get(MASK),
  ...BITSELECT,
  ...set(x),
];

// biome-ignore format: one statement per line
const body: number[] = [
  ...i32c(0), ...set(I),
  ...BLOCK, ...LOOP,
  ...get(I), ...get(COUNT), ...i32c(3), 0x74, GE_S, ...brIf(1),
  ...at(MU1), ...V_LOAD, ...set(M1),
  ...at(MU2), ...V_LOAD, ...set(M2),
  ...at(E11), ...V_LOAD, ...get(M1), ...get(M1), ...V_MUL, ...V_SUB, ...set(S1),
  ...at(E22), ...V_LOAD, ...get(M2), ...get(M2), ...V_MUL, ...V_SUB, ...set(S2),
  ...at(E12), ...V_LOAD, ...get(M1), ...get(M2), ...V_MUL, ...V_SUB, ...set(S12),
  // s1 < 0 -> 0; s2 < 0 -> 0
  ...get(S1), ...splat(0), ...V_LT, ...set(MASK), ...select(S1, splat(0)),
  ...get(S2), ...splat(0), ...V_LT, ...set(MASK), ...select(S2, splat(0)),
  // g = s12 / (s1 + eps); sv = s2 - g s12
  ...get(S12), ...get(S1), ...splat(EPS), ...V_ADD, ...V_DIV, ...set(G),
  ...get(S2), ...get(G), ...get(S12), ...V_MUL, ...V_SUB, ...set(SV),
  // s1 < eps: g = 0, sv = s2, s1 = 0
  ...get(S1), ...splat(EPS), ...V_LT, ...set(MASK),
  ...select(G, splat(0)), ...select(SV, get(S2)), ...select(S1, splat(0)),
  // s2 < eps: g = 0, sv = 0
  ...get(S2), ...splat(EPS), ...V_LT, ...set(MASK),
  ...select(G, splat(0)), ...select(SV, splat(0)),
  // g < 0: sv = s2, g = 0
  ...get(G), ...splat(0), ...V_LT, ...set(MASK),
  ...select(SV, get(S2)), ...select(G, splat(0)),
  // sv <= eps: sv = eps
  ...get(SV), ...splat(EPS), ...V_LE, ...set(MASK), ...select(SV, splat(EPS)),
  // tn = 1 + g g s1 / (sv + 2); td = 1 + s1 / 2
  ...at(TN), ...splat(1), ...get(G), ...get(G), ...V_MUL, ...get(S1), ...V_MUL, ...get(SV), ...splat(SIGMA_NSQ), ...V_ADD, ...V_DIV, ...V_ADD, ...V_STORE,
  ...at(TD), ...splat(1), ...get(S1), ...splat(SIGMA_NSQ), ...V_DIV, ...V_ADD, ...V_STORE,
  ...get(I), ...i32c(16), ADD, ...set(I),
  ...br(0), END, END,
  END,
];

const func = [
  ...vec([
    [...uleb(1), I32],
    [...uleb(8), V128],
  ]),
  ...body,
];
// mul(x, y, out, count): out = x * y elementwise, two per step (an odd count computes one extra
// lane into the arrays' padding). Locals: 0 x, 1 y, 2 out, 3 count | 4 i
// biome-ignore format: one statement per line
const mulBody: number[] = [
  ...i32c(0), ...set(4),
  ...BLOCK, ...LOOP,
  ...get(4), ...get(3), ...i32c(3), 0x74, GE_S, ...brIf(1),
  ...get(2), ...get(4), ADD,
  ...get(0), ...get(4), ADD, ...V_LOAD, ...get(1), ...get(4), ADD, ...V_LOAD, ...V_MUL,
  ...V_STORE,
  ...get(4), ...i32c(16), ADD, ...set(4),
  ...br(0), END, END,
  END,
];
const mulFunc = [...vec([[...uleb(1), I32]]), ...mulBody];
// biome-ignore format: one section per line
const bytes = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32], [I32], [I32]]), 0x00], [0x60, ...vec([[I32], [I32], [I32], [I32]]), 0x00]])),
  ...section(2, vec([[...name("env"), ...name("memory"), 0x02, 0x00, 0x01]])), // imports the filter kernel's memory
  ...section(3, vec([[0x00], [0x01]])),
  ...section(7, vec([[...name("terms"), 0x00, 0x00], [...name("mul"), 0x00, 0x01]])),
  ...section(10, vec([[...uleb(func.length), ...func], [...uleb(mulFunc.length), ...mulFunc]])),

]);

export interface VifTerms {
  terms(
    mu1: number,
    mu2: number,
    e11: number,
    e22: number,
    e12: number,
    tn: number,
    td: number,
    count: number,
  ): void;
  mul(x: number, y: number, out: number, count: number): void;
}

let instance: VifTerms | null | undefined;

/** The `terms` kernel bound to `memory` (the filter kernel's memory), or null without WebAssembly SIMD. */
export function wasmVifTerms(memory: WebAssembly.Memory): VifTerms | null {
  if (instance === undefined) {
    try {
      instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
        .exports as unknown as VifTerms;
    } catch {
      instance = null;
    }
  }
  return instance;
}

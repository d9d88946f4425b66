import {
  ADD,
  BLOCK,
  br,
  brIf,
  END,
  F64,
  F64_ADD,
  F64_LOAD,
  F64_MUL,
  F64_STORE,
  GE_S,
  GT_S,
  get,
  I32,
  IF,
  i32c,
  LOOP,
  LT_S,
  lane,
  MUL,
  name,
  SHL,
  SUB,
  section,
  set,
  uleb,
  V_ADD,
  V_LOAD,
  V_LOAD64_SPLAT,
  V_MUL,
  V128,
  vec,
} from "./wasm-asm.js";

// WebAssembly SIMD version of the separable filter pass (see separable.ts): two outputs per step as
// one f64x2 vector, the same pairing of symmetric taps. The module is assembled here from opcodes (no
// build step, no binary blob); when WebAssembly SIMD is unavailable the JavaScript kernels are used.

// pass(src, rows, n, taps, r, dst): byte offsets; taps[0] = centre, taps[t] = weight of the pair at
// distance t; for each row y and output j < n - 2r: dst[j * rows + y] = sum (see separable.ts).
// Locals: 0 src, 1 rows, 2 n, 3 taps, 4 r, 5 dst | 6 y, 7 j, 8 on, 9 rowBase, 10 m, 11 t, 12 off | 13 acc (v128) | 14 s (f64)
// biome-ignore format: local indices, one per name
const [SRC, ROWS, N, TAPS, R, DST, Y, J, ON, ROWB, M, T, OFF, ACC, S] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];

/** Address of output j (+ jExtra) of row y: dst + (((j + jExtra) * rows + y) << 3). */
// biome-ignore format: one instruction sequence per line
const outAddr = (jExtra: number): number[] => [...get(DST), ...get(J), ...(jExtra ? [...i32c(jExtra), ADD] : []), ...get(ROWS), MUL, ...get(Y), ADD, ...i32c(3), SHL, ADD];

// One statement per line; BLOCK/LOOP pairs are `while` loops (br_if 1 exits, br 0 repeats).
// biome-ignore format: keep one statement per line
const body: number[] = [
  // on = n - 2r; y = 0
  ...get(N), ...get(R), ...i32c(1), SHL, SUB, ...set(ON),
  ...i32c(0), ...set(Y),
  ...BLOCK, ...LOOP,
  ...get(Y), ...get(ROWS), GE_S, ...brIf(1),
  // rowBase = src + (y * n << 3); j = 0
  ...get(SRC), ...get(Y), ...get(N), MUL, ...i32c(3), SHL, ADD, ...set(ROWB),
  ...i32c(0), ...set(J),
  ...BLOCK, ...LOOP,
  ...get(J), ...i32c(1), ADD, ...get(ON), GE_S, ...brIf(1),
  // m = rowBase + (j + r << 3); acc = [x[m], x[m+1]] * taps[0]
  ...get(ROWB), ...get(J), ...get(R), ADD, ...i32c(3), SHL, ADD, ...set(M),
  ...get(M), ...V_LOAD, ...get(TAPS), ...V_LOAD64_SPLAT, ...V_MUL, ...set(ACC),
  ...i32c(1), ...set(T),
  ...BLOCK, ...LOOP,
  ...get(T), ...get(R), GT_S, ...brIf(1),
  // acc += (x[m - t] + x[m + t]) * taps[t], for both lanes
  ...get(T), ...i32c(3), SHL, ...set(OFF),
  ...get(ACC),
  ...get(M), ...get(OFF), SUB, ...V_LOAD,
  ...get(M), ...get(OFF), ADD, ...V_LOAD,
  ...V_ADD,
  ...get(TAPS), ...get(OFF), ADD, ...V_LOAD64_SPLAT,
  ...V_MUL, ...V_ADD, ...set(ACC),
  ...get(T), ...i32c(1), ADD, ...set(T),
  ...br(0), END, END,
  ...outAddr(0), ...get(ACC), ...lane(0), ...F64_STORE,
  ...outAddr(1), ...get(ACC), ...lane(1), ...F64_STORE,
  ...get(J), ...i32c(2), ADD, ...set(J),
  ...br(0), END, END,
  // odd tail: one scalar output with the same order of operations
  ...get(J), ...get(ON), LT_S, ...IF,
  ...get(ROWB), ...get(J), ...get(R), ADD, ...i32c(3), SHL, ADD, ...set(M),
  ...get(M), ...F64_LOAD, ...get(TAPS), ...F64_LOAD, F64_MUL, ...set(S),
  ...i32c(1), ...set(T),
  ...BLOCK, ...LOOP,
  ...get(T), ...get(R), GT_S, ...brIf(1),
  ...get(T), ...i32c(3), SHL, ...set(OFF),
  ...get(S),
  ...get(M), ...get(OFF), SUB, ...F64_LOAD,
  ...get(M), ...get(OFF), ADD, ...F64_LOAD,
  F64_ADD,
  ...get(TAPS), ...get(OFF), ADD, ...F64_LOAD,
  F64_MUL, F64_ADD, ...set(S),
  ...get(T), ...i32c(1), ADD, ...set(T),
  ...br(0), END, END,
  ...outAddr(0), ...get(S), ...F64_STORE,
  END,
  ...get(Y), ...i32c(1), ADD, ...set(Y),
  ...br(0), END, END,
  END,
];

const locals = vec([
  [...uleb(7), I32],
  [...uleb(1), V128],
  [...uleb(1), F64],
]);
const func = [...locals, ...body];
// biome-ignore format: one section per line
const bytes = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), 0x00]])), // type: (6 x i32) -> ()
  ...section(3, vec([[0x00]])), // function 0 has type 0
  ...section(5, vec([[0x00, 0x01]])), // memory: 1 page initially, growable
  ...section(7, vec([[...name("pass"), 0x00, 0x00], [...name("memory"), 0x02, 0x00]])), // exports
  ...section(10, vec([[...uleb(func.length), ...func]])), // code
]);

interface Exports {
  memory: WebAssembly.Memory;
  pass(src: number, rows: number, n: number, taps: number, r: number, dst: number): void;
}

let instance: Exports | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable. */
export function wasmPass(): Exports | null {
  if (instance === undefined) {
    try {
      const mod = new WebAssembly.Module(bytes);
      instance = new WebAssembly.Instance(mod, {}).exports as unknown as Exports;
    } catch {
      instance = null;
    }
  }
  return instance;
}

// WebAssembly SIMD version of the CDDFuse (scikit-image 0.19) SSIM of cddfuse/ssim.ts: running column
// sums of x, y, x^2, y^2 and xy slid down the image (two adjacent columns per f64x2), then 7-wide window
// sums and the SSIM formula for two outputs at a time. For integer images every window sum is exact
// in either order, so per-pixel values equal the JavaScript version's.

import {
  ADD,
  BLOCK,
  br,
  brIf,
  END,
  ensureMemory,
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
const I32_GT_S = 0x4a;
const f64c = (v: number): number[] => [0x44, ...new Uint8Array(Float64Array.of(v).buffer)];
const F64_STORE = [0x39, 3, 0];
const F64_ADD = 0xa0;
const V_LOAD = simd(0, 3, 0);
const V_STORE = simd(11, 3, 0);
const SPLAT = simd(20);
const lane = (l: number): number[] => simd(33, l);
const replaceLane = (l: number): number[] => simd(34, l);
const V_ADD = simd(240);
const V_SUB = simd(241);
const V_MUL = simd(242);
const V_DIV = simd(243);
const splat = (v: number): number[] => [...f64c(v), ...SPLAT];

const WIN = 7;
const NP = WIN * WIN;
const INV = 1 / NP;
const COV = NP / (NP - 1);
const C1 = (0.01 * 2) ** 2;
const C2 = (0.03 * 2) ** 2;

// ssim(xp, yp, w, h, cols, res): images w x h (f64, byte offsets), cols: 5 arrays of (w + 2) f64.
// biome-ignore format: local indices (7 is unused)
const [XP, YP, W, H, COLS, RES, R, , OW, OH, W8, CW8, RA, RS, C, Q] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
const [TOTAL, A, B, A0, B0, SX, SY, SXX, SYY, SXY, MX, MY, INC] = [
  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
];

/** Address of column-sum channel ch at byte offset C (the current column pair). */
const col = (ch: number): number[] => [...get(COLS), ...get(CW8), ...i32c(ch), MUL, ADD, ...get(C), ADD];
/** col[ch] += value on the stack top computed by `value` (stores back). */
const addTo = (ch: number, value: number[]): number[] => [
  ...col(ch),
  ...col(ch),
  ...V_LOAD,
  ...value,
  ...V_ADD,
  ...V_STORE,
];

/** Column loop: for C = 0, 16, ... < w * 8, run `body`. */
// biome-ignore format: one statement per line
const overColumns = (body: number[]): number[] => [
  ...i32c(0), ...set(C),
  ...BLOCK, ...LOOP,
  ...get(C), ...get(W8), GE_S, ...brIf(1),
  ...body,
  ...get(C), ...i32c(16), ADD, ...set(C),
  ...br(0), END, END,
];

/** Window sum of channel ch over 7 columns starting at byte offset Q (two outputs). */
const windowSum = (ch: number): number[] => {
  const at = (j: number): number[] => [
    ...get(COLS),
    ...get(CW8),
    ...i32c(ch),
    MUL,
    ADD,
    ...get(Q),
    ADD,
    ...i32c(8 * j),
    ADD,
    ...V_LOAD,
  ];
  return [...at(0), ...[1, 2, 3, 4, 5, 6].flatMap((j) => [...at(j), ...V_ADD])];
};

// biome-ignore format: one statement per line
const body: number[] = [
  ...get(W), ...i32c(WIN - 1), SUB, ...set(OW),
  ...get(H), ...i32c(WIN - 1), SUB, ...set(OH),
  ...get(W), ...i32c(3), SHL, ...set(W8),
  ...get(W), ...i32c(2), ADD, ...i32c(3), SHL, ...set(CW8),
  ...splat(0), ...set(TOTAL),
  // column sums of rows 0..6 (cols were zeroed by the caller)
  ...i32c(0), ...set(R),
  ...BLOCK, ...LOOP,
  ...get(R), ...i32c(WIN), GE_S, ...brIf(1),
  ...get(R), ...get(W8), MUL, ...set(RA),
  ...overColumns([
    ...get(XP), ...get(RA), ADD, ...get(C), ADD, ...V_LOAD, ...set(A),
    ...get(YP), ...get(RA), ADD, ...get(C), ADD, ...V_LOAD, ...set(B),
    ...addTo(0, get(A)), ...addTo(1, get(B)),
    ...addTo(2, [...get(A), ...get(A), ...V_MUL]),
    ...addTo(3, [...get(B), ...get(B), ...V_MUL]),
    ...addTo(4, [...get(A), ...get(B), ...V_MUL]),
  ]),
  ...get(R), ...i32c(1), ADD, ...set(R),
  ...br(0), END, END,
  // output rows
  ...i32c(0), ...set(R),
  ...BLOCK, ...LOOP,
  ...get(R), ...get(OH), GE_S, ...brIf(1),
  ...get(R), ...i32c(0), I32_GT_S, ...IF,
  // slide: add row R + 6, remove row R - 1
  ...get(R), ...i32c(WIN - 1), ADD, ...get(W8), MUL, ...set(RA),
  ...get(R), ...i32c(1), SUB, ...get(W8), MUL, ...set(RS),
  ...overColumns([
    ...get(XP), ...get(RA), ADD, ...get(C), ADD, ...V_LOAD, ...set(A),
    ...get(YP), ...get(RA), ADD, ...get(C), ADD, ...V_LOAD, ...set(B),
    ...get(XP), ...get(RS), ADD, ...get(C), ADD, ...V_LOAD, ...set(A0),
    ...get(YP), ...get(RS), ADD, ...get(C), ADD, ...V_LOAD, ...set(B0),
    ...addTo(0, [...get(A), ...get(A0), ...V_SUB]),
    ...addTo(1, [...get(B), ...get(B0), ...V_SUB]),
    ...addTo(2, [...get(A), ...get(A), ...V_MUL, ...get(A0), ...get(A0), ...V_MUL, ...V_SUB]),
    ...addTo(3, [...get(B), ...get(B), ...V_MUL, ...get(B0), ...get(B0), ...V_MUL, ...V_SUB]),
    ...addTo(4, [...get(A), ...get(B), ...V_MUL, ...get(A0), ...get(B0), ...V_MUL, ...V_SUB]),
  ]),
  END,
  // outputs of this row, two at a time
  ...i32c(0), ...set(Q),
  ...BLOCK, ...LOOP,
  ...get(Q), ...get(OW), ...i32c(3), SHL, GE_S, ...brIf(1),
  ...windowSum(0), ...set(SX), ...windowSum(1), ...set(SY),
  ...windowSum(2), ...set(SXX), ...windowSum(3), ...set(SYY), ...windowSum(4), ...set(SXY),
  ...get(SX), ...splat(INV), ...V_MUL, ...set(MX),
  ...get(SY), ...splat(INV), ...V_MUL, ...set(MY),
  // ((2 mx my + C1)(2 vxy + C2)) / ((mx^2 + my^2 + C1)(vx + vy + C2)), v = COV (S / 49 - m m)
  ...splat(2), ...get(MX), ...V_MUL, ...get(MY), ...V_MUL, ...splat(C1), ...V_ADD,
  ...splat(2), ...splat(COV), ...get(SXY), ...splat(INV), ...V_MUL, ...get(MX), ...get(MY), ...V_MUL, ...V_SUB, ...V_MUL, ...V_MUL, ...splat(C2), ...V_ADD,
  ...V_MUL,
  ...get(MX), ...get(MX), ...V_MUL, ...get(MY), ...get(MY), ...V_MUL, ...V_ADD, ...splat(C1), ...V_ADD,
  ...splat(COV), ...get(SXX), ...splat(INV), ...V_MUL, ...get(MX), ...get(MX), ...V_MUL, ...V_SUB, ...V_MUL,
  ...splat(COV), ...get(SYY), ...splat(INV), ...V_MUL, ...get(MY), ...get(MY), ...V_MUL, ...V_SUB, ...V_MUL,
  ...V_ADD, ...splat(C2), ...V_ADD,
  ...V_MUL, ...V_DIV, ...set(INC),
  // odd output width: the second lane of the last pair is outside
  ...get(Q), ...i32c(8), ADD, ...get(OW), ...i32c(3), SHL, I32_EQ, ...IF,
  ...get(INC), ...f64c(0), ...replaceLane(1), ...set(INC),
  END,
  ...get(TOTAL), ...get(INC), ...V_ADD, ...set(TOTAL),
  ...get(Q), ...i32c(16), ADD, ...set(Q),
  ...br(0), END, END,
  ...get(R), ...i32c(1), ADD, ...set(R),
  ...br(0), END, END,
  ...get(RES), ...get(TOTAL), ...lane(0), ...get(TOTAL), ...lane(1), F64_ADD, ...F64_STORE,
  END,
];

const func = [
  ...vec([
    [...uleb(10), I32],
    [...uleb(13), V128],
  ]),
  ...body,
];
// biome-ignore format: one section per line
const bytes = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), 0x00]])),
  ...section(3, vec([[0x00]])),
  ...section(5, vec([[0x00, 0x01]])),
  ...section(7, vec([[...name("ssim"), 0x00, 0x00], [...name("memory"), 0x02, 0x00]])),
  ...section(10, vec([[...uleb(func.length), ...func]])),
]);

interface Exports {
  memory: WebAssembly.Memory;
  ssim(xp: number, yp: number, w: number, h: number, cols: number, res: number): void;
}

let instance: Exports | null | undefined;

/** The compiled kernel, or null where WebAssembly SIMD is unavailable. */
export function wasmSsim(): Exports | null {
  if (instance === undefined) {
    try {
      instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as Exports;
    } catch {
      instance = null;
    }
  }
  return instance;
}

/** Mean SSIM of x and y (both w x h, w and h >= 7) through the kernel; null if memory cannot grow. */
export function ssimWasm(ex: Exports, x: Float64Array, y: Float64Array, w: number, h: number): number | null {
  const res = 0;
  const cols = 64;
  const colsLen = 5 * (w + 2);
  const xAt = cols + 8 * colsLen;
  const yAt = xAt + 8 * (w * h + 2);
  if (!ensureMemory(ex.memory, yAt + 8 * (w * h + 2))) return null;
  const mem = new Float64Array(ex.memory.buffer);
  mem.fill(0, cols / 8, cols / 8 + colsLen);
  mem.set(x.subarray(0, w * h), xAt / 8);
  mem.fill(0, xAt / 8 + w * h, xAt / 8 + w * h + 2);
  mem.set(y.subarray(0, w * h), yAt / 8);
  mem.fill(0, yAt / 8 + w * h, yAt / 8 + w * h + 2);
  ex.ssim(xAt, yAt, w, h, cols, res);
  return mem[res]! / ((w - WIN + 1) * (h - WIN + 1));
}

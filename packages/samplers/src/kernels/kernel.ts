// Elementwise sampler kernels compiled to WebAssembly SIMD at first use. V8 runs the samplers'
// plain update loops at 1.5-6 ns per element (scalar code, bounds checks, register spills in the
// longer multistep formulas); the same formulas in f64x2 run several times faster, and copying the
// arrays into and out of the kernels' memory costs far less (a 3.7 MB copy is ~0.08 ms). Each
// kernel is written as the expressions of the JavaScript loop it replaces, which stays as the
// fallback (no WebAssembly, SIMD disabled, memory exhausted, overlapping views) and as the
// reference the tests compare the kernels against, bit for bit.
import type { FloatArray } from "@fccf/core";
import { emptyLike } from "@fccf/core";
import { assemble, ELEMENTS_PER_ITERATION, type ElementType, forwardedStores } from "./assemble.js";
import { type Program, parseKernel } from "./parse.js";

type KernelFn = (...args: number[]) => void;

let enabled = true;
let unavailable = false;

/**
 * Turns the WebAssembly kernels on or off (on by default); off, every sampler runs its JavaScript
 * loops. Results are identical either way; tests and benchmarks compare the two paths.
 *
 * @example
 * ```ts
 * import { setWasmKernels, wasmKernelsActive } from "@fccf/samplers";
 * setWasmKernels(false); // e.g. where a content security policy forbids compiling WebAssembly
 * wasmKernelsActive(); // false
 * ```
 */
export function setWasmKernels(on: boolean): void {
  enabled = on;
}

/** True while the WebAssembly kernels are enabled and have not failed to compile here. */
export function wasmKernelsActive(): boolean {
  return enabled && !unavailable && typeof WebAssembly === "object";
}

/**
 * One elementwise loop: `arrays` and `scalars` name the operands (space-separated), `body` is the
 * per-element statements in the kernel language (see parse.ts). Run it with {@link Arena.run}.
 */
export class Kernel {
  readonly program: Program;
  /** Arrays whose stored values later statements take from registers (see forwardedStores). */
  readonly forwarded: readonly number[];
  private readonly modules: Partial<Record<ElementType, WebAssembly.Module>> = {};

  constructor(arrays: string, scalars: string, body: string) {
    const names = (s: string) => s.split(/\s+/).filter((t) => t.length > 0);
    this.program = parseKernel(names(arrays), names(scalars), body);
    const st = this.program.statements;
    this.forwarded = [
      ...new Set(
        forwardedStores(this.program).flatMap((f, k) => (f ? [(st[k] as { array: number }).array] : [])),
      ),
    ];
  }

  /** The compiled module for an element type; undefined when this engine cannot compile it. */
  module(type: ElementType): WebAssembly.Module | undefined {
    let m = this.modules[type];
    if (!m && !unavailable) {
      try {
        m = new WebAssembly.Module(assemble(this.program, type));
        this.modules[type] = m;
      } catch {
        // No WebAssembly SIMD here (or compiling is not allowed): JavaScript loops from now on.
        unavailable = true;
      }
    }
    return m;
  }
}

/** Regions for arrays passed in from outside an arena (the state, the model output), per call. */
const STAGING = 3;
/** Offset between consecutive regions modulo 4 KiB: 5 cache lines, distinct for up to 12 regions. */
const REGION_SKEW = 320;

/** A WebAssembly memory with the kernel instances bound to it (one per kernel and element type). */
interface Space {
  memory: WebAssembly.Memory;
  fns: Map<Kernel, KernelFn>;
  type: ElementType;
}

/**
 * Memories of finished runs, for the next runs: a fresh memory costs a page fault per 4 KiB on
 * first touch (~0.8 ms per MB on these machines, several ms per state-sized array), a reused one
 * nothing. Small and bounded so a huge image does not stay resident.
 */
const pool: Space[] = [];
const POOL_SIZE = 2;
const POOL_MAX_BYTES = 64 * 2 ** 20;

function acquire(bytes: number, type: ElementType): Space | undefined {
  const k = pool.findIndex((s) => s.memory.buffer.byteLength >= bytes);
  const reuse = k >= 0 ? pool.splice(k, 1)[0]! : pool.pop();
  try {
    const memory = reuse?.memory ?? new WebAssembly.Memory({ initial: 1 });
    const have = memory.buffer.byteLength;
    if (have < bytes) memory.grow(Math.ceil((bytes - have) / 65536));
    // Instances are bound to a memory, not to its size: keep them unless the element type changes.
    const fns = reuse && reuse.type === type ? reuse.fns : new Map<Kernel, KernelFn>();
    return { memory, fns, type };
  } catch {
    return undefined; // wasm32 memories end at 4 GiB, engines may stop earlier
  }
}

function release(space: Space): void {
  if (space.memory.buffer.byteLength <= POOL_MAX_BYTES && pool.length < POOL_SIZE) pool.push(space);
}

/**
 * The working memory of one sampler run: its own arrays (history, scratch, noise) live in one
 * WebAssembly memory, where kernels use them in place; arrays from outside (the state, the model
 * output) are copied in for each kernel call and copied back when written. The memory is sized once
 * for `capacity` arrays when the state size is first seen, so views handed out stay valid until
 * {@link Arena.release}, which hands the memory to later runs.
 *
 * @example
 * ```ts
 * const arena = new Arena(1);
 * const axpy = new Kernel("x y", "a", "y = a * x + y;");
 * const y = arena.array(0, x); // a scratch array shaped like x
 * if (!arena.run(axpy, [x, y], [2])) for (let j = 0; j < y.length; j++) y[j] = 2 * x[j]! + y[j]!;
 * arena.release(); // when the run is over
 * ```
 */
export class Arena {
  private space: Space | undefined;
  private readonly views: FloatArray[] = [];
  private length = -1;
  private type: ElementType = "f32";
  private regionBytes = 0;
  private failed = false;

  constructor(private readonly capacity: number) {}

  /** The arena's array number `key` (< capacity), shaped like `like`; zero-filled when new. */
  array(key: number, like: FloatArray): FloatArray {
    if (!Number.isInteger(key) || key < 0 || key >= this.capacity) {
      throw new RangeError(`arena array ${key} outside its capacity ${this.capacity}`);
    }
    this.fit(like);
    let v = this.views[key];
    if (!v) {
      if (this.space) {
        const View = this.type === "f32" ? Float32Array : Float64Array;
        // A reused memory holds an earlier run's values: new arrays start at zero either way.
        v = new View(this.space.memory.buffer, key * this.regionBytes, like.length).fill(0);
      } else {
        v = emptyLike(like);
      }
      this.views[key] = v;
    }
    return v;
  }

  /**
   * Runs `kernel` over the arrays (one per declared array, all of one length; the same array may be
   * passed for several names) with the scalars. Returns false, having done nothing, when the
   * WebAssembly path cannot run (kernels off or unavailable, mixed element types, partly overlapping
   * views, more outside arrays than staging regions): the caller then runs its JavaScript loop.
   */
  run(kernel: Kernel, arrays: readonly FloatArray[], scalars: readonly number[]): boolean {
    if (!wasmKernelsActive()) return false;
    const p = kernel.program;
    if (arrays.length !== p.arrays.length || scalars.length !== p.scalars.length) {
      throw new RangeError(
        `kernel over (${p.arrays.join(", ")}; ${p.scalars.join(", ")}) given ${arrays.length} arrays and ${scalars.length} scalars`,
      );
    }
    const first = arrays[0]!;
    this.fit(first);
    const space = this.space;
    if (!space) return false;
    const buffer = space.memory.buffer;
    const n = this.length;
    const bases: number[] = [];
    const staged: FloatArray[] = [];
    const read: boolean[] = [];
    const written: boolean[] = [];
    for (let k = 0; k < arrays.length; k++) {
      const a = arrays[k]!;
      if (a.length !== n) throw new RangeError(`kernel arrays differ in length (${a.length} vs ${n})`);
      // Mixed float32 / float64 operands (a float64 model output for a float32 state): the loop
      // reads each in its own precision, a kernel would round the doubles.
      if (a.constructor !== first.constructor) return false;
      if (a.buffer === buffer) {
        bases.push(a.byteOffset);
        continue;
      }
      // An outside array gets a staging region (shared when passed twice, as in the loop).
      let s = staged.indexOf(a);
      if (s < 0) {
        // Partly overlapping views would see each other's writes mid-loop: only the loop is right.
        if (staged.length === STAGING || staged.some((d) => overlaps(d, a))) return false;
        s = staged.push(a) - 1;
        read.push(false);
        written.push(false);
      }
      if (p.reads[k]) read[s] = true;
      if (p.writes[k]) written[s] = true;
      bases.push((this.capacity + s) * this.regionBytes);
    }
    // A forwarded array must not be written under another name too (the registers would be stale).
    for (const f of kernel.forwarded) {
      for (let k = 0; k < arrays.length; k++) {
        if (k !== f && p.writes[k] && bases[k] === bases[f]) return false;
      }
    }
    let fn = space.fns.get(kernel);
    if (!fn) {
      const module = kernel.module(this.type);
      if (!module) return false;
      fn = new WebAssembly.Instance(module, { e: { m: space.memory } }).exports.k as KernelFn;
      space.fns.set(kernel, fn);
    }
    const View = this.type === "f32" ? Float32Array : Float64Array;
    for (let s = 0; s < staged.length; s++) {
      if (read[s]) new View(buffer, (this.capacity + s) * this.regionBytes, n).set(staged[s]!);
    }
    const padded = Math.ceil(n / ELEMENTS_PER_ITERATION) * ELEMENTS_PER_ITERATION;
    fn(...bases, padded * (this.type === "f32" ? 4 : 8), ...scalars);
    for (let s = 0; s < staged.length; s++) {
      if (written[s]) staged[s]!.set(new View(buffer, (this.capacity + s) * this.regionBytes, n));
    }
    return true;
  }

  /**
   * Ends the run's use of the arena: its arrays must not be used after this, and its memory goes to
   * later runs. The arena itself can be used again (it then takes a memory anew).
   */
  release(): void {
    if (this.space) release(this.space);
    this.space = undefined;
    this.views.length = 0;
    this.length = -1;
  }

  /** Sizes the memory for arrays like `like` (once per run; again only if the state changes). */
  private fit(like: FloatArray): void {
    const type: ElementType = like instanceof Float64Array ? "f64" : "f32";
    if (like.length === this.length && type === this.type) return;
    this.release();
    this.length = like.length;
    this.type = type;
    if (this.failed || !wasmKernelsActive()) return;
    const padded = Math.ceil(like.length / ELEMENTS_PER_ITERATION) * ELEMENTS_PER_ITERATION;
    // Regions a few cache lines apart modulo 4 KiB: arrays at equal offsets modulo 4 KiB make the
    // CPU's load/store disambiguation stall the kernels (4K aliasing), up to 2x here.
    const bytes = padded * (type === "f32" ? 4 : 8);
    this.regionBytes = Math.ceil(bytes / 4096) * 4096 + REGION_SKEW;
    this.space = acquire((this.capacity + STAGING) * this.regionBytes, type);
    // Too large for a wasm32 memory here: this run uses plain arrays and the JavaScript loops.
    if (!this.space) this.failed = true;
  }
}

function overlaps(a: FloatArray, b: FloatArray): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** The padded size of `n` for an input multiple `m`. */
export function paddedSize(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * Pads a plane on the right and bottom to `pw` x `ph` by mirror reflection without repeating the
 * edge (numpy/PyTorch "reflect"), so the network sees no artificial edge. Where the padding is
 * not smaller than the image (PyTorch's reflect limit), the edge is replicated instead.
 */
export function padReflect(plane: Float32Array, w: number, h: number, pw: number, ph: number): Float32Array {
  if (pw < w || ph < h) throw new RangeError(`cannot pad ${w}x${h} to smaller ${pw}x${ph}`);
  if (pw === w && ph === h) return plane;
  const replicate = pw - w >= w || ph - h >= h;
  const index = replicate ? (i: number, n: number) => Math.min(i, n - 1) : reflectIndex;
  const out = new Float32Array(pw * ph);
  const col = new Int32Array(pw);
  for (let x = 0; x < pw; x++) col[x] = index(x, w);
  for (let y = 0; y < ph; y++) {
    const src = index(y, h) * w;
    const dst = y * pw;
    for (let x = 0; x < pw; x++) out[dst + x] = plane[src + col[x]!]!;
  }
  return out;
}

/** Crops the top-left `w` x `h` of a `pw`-wide plane. */
export function crop(plane: Float32Array, pw: number, w: number, h: number): Float32Array {
  if (pw === w && plane.length === w * h) return plane;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) out.set(plane.subarray(y * pw, y * pw + w), y * w);
  return out;
}

function reflectIndex(i: number, n: number): number {
  return i < n ? i : 2 * (n - 1) - i;
}

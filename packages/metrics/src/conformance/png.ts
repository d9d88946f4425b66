// Minimal PNG decoder for the conformance runner (Node only: uses node:zlib). Handles non-interlaced
// 8- and 16-bit grey, grey+alpha, RGB and RGBA with every filter type, and checks chunk CRCs.

import { inflateSync } from "node:zlib";

export interface DecodedPng {
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  bitDepth: 8 | 16;
  /** Interleaved samples, row-major. */
  data: Uint8Array | Uint16Array;
}

/** A PNG that cannot be decoded; the message names the file and the reason. */
export class PngError extends Error {
  override name = "PngError";
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const CHANNELS: Record<number, 1 | 2 | 3 | 4> = { 0: 1, 4: 2, 2: 3, 6: 4 };

let crcTable: Uint32Array | undefined;
function crc32(bytes: Uint8Array, start: number, end: number): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decodes a PNG file's bytes. `name` is used in error messages.
 *
 * @example
 * ```ts
 * import { readFileSync } from "node:fs";
 * const png = decodePng(readFileSync("cases/edge_tiny16_mean_A.png"), "edge_tiny16_mean_A.png");
 * ```
 */
export function decodePng(bytes: Uint8Array, name: string): DecodedPng {
  const fail = (reason: string): never => {
    throw new PngError(`${name}: ${reason}`);
  };
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) fail("not a PNG file (bad signature)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let ihdr:
    | { width: number; height: number; bitDepth: number; colorType: number; interlace: number }
    | undefined;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) fail("truncated chunk header");
    const len = view.getUint32(pos);
    const type = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!, bytes[pos + 6]!, bytes[pos + 7]!);
    const dataStart = pos + 8;
    const dataEnd = dataStart + len;
    if (dataEnd + 4 > bytes.length) fail(`truncated ${type} chunk`);
    if (crc32(bytes, pos + 4, dataEnd) !== view.getUint32(dataEnd))
      fail(`CRC mismatch in ${type} chunk (file corrupted)`);
    if (type === "IHDR") {
      if (len !== 13) fail("IHDR chunk has the wrong length");
      ihdr = {
        width: view.getUint32(dataStart),
        height: view.getUint32(dataStart + 4),
        bitDepth: bytes[dataStart + 8]!,
        colorType: bytes[dataStart + 9]!,
        interlace: bytes[dataStart + 12]!,
      };
    } else if (type === "IDAT") {
      idat.push(bytes.subarray(dataStart, dataEnd));
    } else if (type === "IEND") {
      ended = true;
      break;
    }
    pos = dataEnd + 4;
  }
  if (!ihdr) return fail("missing IHDR chunk");
  if (!ended) fail("missing IEND chunk (file truncated)");
  const { width, height, bitDepth, colorType, interlace } = ihdr;
  if (width === 0 || height === 0) fail("image has zero width or height");
  const channels = CHANNELS[colorType];
  if (!channels)
    fail(`unsupported colour type ${colorType} (palette images are not supported; save as grey or RGB)`);
  if (bitDepth !== 8 && bitDepth !== 16)
    fail(`unsupported bit depth ${bitDepth} (only 8 and 16 bit are supported)`);
  if (interlace !== 0) fail("interlaced PNGs are not supported; save without interlacing");
  if (idat.length === 0) fail("no image data (IDAT)");
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (err) {
    return fail(`image data does not decompress (${(err as Error).message})`);
  }
  const bpp = (channels! * bitDepth) / 8;
  const stride = width * bpp;
  if (raw.length < height * (stride + 1))
    fail(`image data too short: ${raw.length} bytes for ${width}x${height}`);
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    const prev = dst - stride;
    for (let i = 0; i < stride; i++) {
      const x = raw[src + i]!;
      const a = i >= bpp ? out[dst + i - bpp]! : 0;
      const b = y > 0 ? out[prev + i]! : 0;
      const c = y > 0 && i >= bpp ? out[prev + i - bpp]! : 0;
      let v: number;
      switch (filter) {
        case 0:
          v = x;
          break;
        case 1:
          v = x + a;
          break;
        case 2:
          v = x + b;
          break;
        case 3:
          v = x + ((a + b) >> 1);
          break;
        case 4:
          v = x + paeth(a, b, c);
          break;
        default:
          return fail(`bad filter type ${filter} in row ${y}`);
      }
      out[dst + i] = v & 0xff;
    }
  }
  if (bitDepth === 8) return { width, height, channels: channels!, bitDepth: 8, data: out };
  const data = new Uint16Array(width * height * channels!);
  for (let i = 0; i < data.length; i++) data[i] = (out[2 * i]! << 8) | out[2 * i + 1]!;
  return { width, height, channels: channels!, bitDepth: 16, data };
}

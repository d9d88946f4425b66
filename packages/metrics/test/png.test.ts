import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodePng, PngError } from "../src/conformance/png.js";

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, "latin1"), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

const paeth = (a: number, b: number, c: number): number => {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
};

/** Encodes raw samples as PNG, filtering row y with filter type filters[y % filters.length]. */
function encode(
  w: number,
  h: number,
  colorType: number,
  depth: 8 | 16,
  samples: number[],
  filters: number[],
  interlace = 0,
): Uint8Array {
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType as 0 | 2 | 4 | 6] ?? 1;
  const bps = depth / 8;
  const bpp = channels * bps;
  const stride = w * bpp;
  const raw = new Uint8Array(h * stride);
  samples.forEach((v, i) => {
    if (depth === 8) raw[i] = v;
    else {
      raw[2 * i] = v >> 8;
      raw[2 * i + 1] = v & 0xff;
    }
  });
  const filtered = new Uint8Array(h * (stride + 1));
  for (let y = 0; y < h; y++) {
    const f = filters[y % filters.length]!;
    filtered[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const x = raw[y * stride + i]!;
      const a = i >= bpp ? raw[y * stride + i - bpp]! : 0;
      const b = y > 0 ? raw[(y - 1) * stride + i]! : 0;
      const c = y > 0 && i >= bpp ? raw[(y - 1) * stride + i - bpp]! : 0;
      const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][f]!;
      filtered[y * (stride + 1) + 1 + i] = (x - pred) & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  ihdr.set([depth, colorType, 0, 0, interlace], 8);
  const parts = [
    Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(filtered)),
    chunk("IEND", new Uint8Array(0)),
  ];
  return Buffer.concat(parts);
}

describe("decodePng", () => {
  it("decodes every filter type for grey, grey+alpha, RGB and RGBA, 8 and 16 bit", () => {
    for (const [colorType, channels] of [
      [0, 1],
      [4, 2],
      [2, 3],
      [6, 4],
    ] as const) {
      for (const depth of [8, 16] as const) {
        const w = 7;
        const h = 10;
        const max = depth === 8 ? 256 : 65536;
        const samples = Array.from({ length: w * h * channels }, (_, i) => (i * 7919 + (i >> 3) * 31) % max);
        const png = decodePng(encode(w, h, colorType, depth, samples, [0, 1, 2, 3, 4]), "t.png");
        expect([png.width, png.height, png.channels, png.bitDepth]).toEqual([w, h, channels, depth]);
        expect(Array.from(png.data)).toEqual(samples);
      }
    }
  });

  it("names the file and the reason for unsupported or broken files", () => {
    const ok = encode(2, 2, 0, 8, [1, 2, 3, 4], [0]);
    expect(() => decodePng(Buffer.from("GIF89a...."), "x.gif")).toThrow(/x\.gif: not a PNG file/);
    expect(() => decodePng(encode(2, 2, 0, 8, [1, 2, 3, 4], [0], 1), "i.png")).toThrow(
      /i\.png: interlaced PNGs are not supported/,
    );
    const palette = Buffer.from(ok);
    palette[8 + 8 + 9] = 3; // colour type byte of IHDR
    // fix the IHDR CRC so the colour type check is reached
    new DataView(palette.buffer, palette.byteOffset).setUint32(
      8 + 8 + 13,
      crc32(palette.subarray(12, 12 + 17)),
    );
    expect(() => decodePng(palette, "p.png")).toThrow(/p\.png: unsupported colour type 3/);
    const corrupt = Buffer.from(ok);
    corrupt[corrupt.length - 20]! ^= 0xff;
    expect(() => decodePng(corrupt, "c.png")).toThrow(PngError);
    expect(() => decodePng(ok.subarray(0, ok.length - 12), "t.png")).toThrow(/t\.png: missing IEND chunk/);
  });
});

import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { writeImage } from "../src/write-image.js";

const dir = await mkdtemp(join(tmpdir(), "fccf-write-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("writeImage", () => {
  it("writes 8-bit RGB PNG that decodes to the same samples", async () => {
    const data = new Uint8Array(4 * 3 * 3).map((_, i) => (i * 29) % 256);
    const path = join(dir, "rgb.png");
    await writeImage(path, { width: 4, height: 3, channels: 3, bitDepth: 8, data });
    const { data: back, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(3);
    expect(Array.from(back)).toEqual(Array.from(data));
  });
  it("keeps 16-bit grey in PNG", async () => {
    const data = new Uint16Array([0, 1, 257, 40000, 65535, 12345]);
    const path = join(dir, "g16.png");
    await writeImage(path, { width: 3, height: 2, channels: 1, bitDepth: 16, data });
    const meta = await sharp(path).metadata();
    expect(meta.depth).toBe("ushort");
    const back = await sharp(path).toColourspace("grey16").raw({ depth: "ushort" }).toBuffer();
    expect(Array.from(new Uint16Array(back.buffer, back.byteOffset, back.length / 2))).toEqual(
      Array.from(data),
    );
  });
  it("rejects unknown extensions without leaving files behind", async () => {
    await expect(
      writeImage(join(dir, "x.bmpx"), {
        width: 1,
        height: 1,
        channels: 1,
        bitDepth: 8,
        data: new Uint8Array(1),
      }),
    ).rejects.toThrow(/cannot write '.bmpx'/);
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readImage } from "../src/read-image.js";
import { UserError } from "../src/user-error.js";
import { writeImage } from "../src/write-image.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fccf-read-image-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("readImage", () => {
  it("round-trips 8-bit RGB PNG samples exactly", async () => {
    const data = Uint8Array.from({ length: 3 * 4 * 3 }, (_, i) => (i * 37) % 256);
    const path = join(dir, "rgb.png");
    await sharp(data, { raw: { width: 4, height: 3, channels: 3 } })
      .png()
      .toFile(path);
    const img = await readImage(path);
    expect([img.width, img.height, img.channels, img.bitDepth]).toEqual([4, 3, 3, 8]);
    expect(Array.from(img.data)).toEqual(Array.from(data));
  });

  it("keeps 16-bit grey PNG and TIFF samples as 16-bit", async () => {
    const data = new Uint16Array([0, 1000, 65535, 40000, 12345, 7]);
    for (const ext of ["png", "tif"]) {
      const path = join(dir, `g16.${ext}`);
      await writeImage(path, { width: 3, height: 2, channels: 1, bitDepth: 16, data });
      const img = await readImage(path);
      expect([img.width, img.height, img.channels, img.bitDepth]).toEqual([3, 2, 1, 16]);
      expect(img.data).toBeInstanceOf(Uint16Array);
      expect(Array.from(img.data)).toEqual(Array.from(data));
    }
  });

  it("decodes JPEG (lossy, so only the size and channel count are exact)", async () => {
    const path = join(dir, "grey.jpg");
    await sharp(new Uint8Array(64).fill(200), { raw: { width: 8, height: 8, channels: 1 } })
      .jpeg()
      .toFile(path);
    const img = await readImage(path);
    expect([img.width, img.height, img.bitDepth]).toEqual([8, 8, 8]);
    expect(Math.abs(img.data[0]! - 200)).toBeLessThanOrEqual(2);
  });

  it("names the file and the reason on errors", async () => {
    await expect(readImage(join(dir, "missing.png"))).rejects.toThrow(/missing\.png: file not found/);
    await expect(readImage(dir)).rejects.toThrow(/is a folder/);
    const junk = join(dir, "junk.png");
    await writeFile(junk, "this is not an image");
    const err = await readImage(junk).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/junk\.png: cannot decode image/);
  });
});

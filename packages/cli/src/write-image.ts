import { extname } from "node:path";
import type { RasterImage } from "@fccf/tasks";
import sharp from "sharp";
import { UserError } from "./user-error.js";
import { writeFileAtomic } from "./write-atomic.js";

const formats = new Set([".png", ".tif", ".tiff", ".jpg", ".jpeg", ".webp"]);

/**
 * Encodes a raster by the extension of `path` (PNG, TIFF, JPEG, WebP) and writes it atomically.
 * 16-bit rasters keep 16 bits in PNG and TIFF; other formats get 8 bits.
 */
export async function writeImage(path: string, img: RasterImage): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (!formats.has(ext)) {
    throw new UserError(
      `${path}: cannot write '${ext || "no extension"}' files; use .png, .tif, .jpg or .webp`,
    );
  }
  const sixteen = img.bitDepth === 16 && (ext === ".png" || ext === ".tif" || ext === ".tiff");
  let data: Uint8Array | Uint16Array = img.data;
  if (img.bitDepth === 16 && !sixteen) {
    data = Uint8Array.from(img.data, (v) => Math.round((v * 255) / 65535));
  }
  // sharp wants a Uint16Array (not a Buffer over one) to treat samples as 16-bit.
  let pipeline = sharp(data, { raw: { width: img.width, height: img.height, channels: img.channels } });
  if (img.channels <= 2) pipeline = pipeline.toColourspace(sixteen ? "grey16" : "b-w");
  else if (sixteen) pipeline = pipeline.toColourspace("rgb16");
  if (ext === ".png") pipeline = pipeline.png({ compressionLevel: 6 });
  else if (ext === ".jpg" || ext === ".jpeg") pipeline = pipeline.jpeg({ quality: 95 });
  else if (ext === ".webp") pipeline = pipeline.webp({ lossless: true });
  else pipeline = pipeline.tiff({ compression: "lzw" });
  await writeFileAtomic(path, await pipeline.toBuffer());
}

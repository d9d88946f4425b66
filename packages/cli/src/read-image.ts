import { readFile } from "node:fs/promises";
import type { RasterImage } from "@fccf/tasks";
import sharp from "sharp";
import { UserError } from "./user-error.js";

/**
 * Decodes an image file (PNG, JPEG, TIFF, WebP, ... whatever libvips reads) into a raster with
 * 1-4 interleaved channels, keeping 16-bit samples as 16-bit. Orientation tags are not applied: the
 * pixels are used as stored, like the reference evaluators' readers do.
 *
 * Errors are UserErrors naming the file and the reason (missing, unreadable, not an image, too many
 * channels).
 *
 * @example
 * ```ts
 * const img = await readImage("samples/VI-IR/a-vi.png");
 * console.log(img.width, img.height, img.channels, img.bitDepth);
 * ```
 */
export async function readImage(path: string): Promise<RasterImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT"
        ? "file not found"
        : code === "EISDIR"
          ? "is a folder, not an image"
          : code === "EACCES"
            ? "permission denied"
            : (err as Error).message;
    throw new UserError(`${path}: ${reason}`);
  }
  try {
    const meta = await sharp(bytes).metadata();
    const sixteen = meta.depth === "ushort" || meta.depth === "short";
    if (meta.depth && !["uchar", "char", "ushort", "short"].includes(meta.depth)) {
      throw new Error(
        `unsupported sample format '${meta.depth}' (only 8- and 16-bit integer images are supported)`,
      );
    }
    let pipeline = sharp(bytes);
    // Without an explicit grey colourspace libvips turns 16-bit grey into 16-bit RGB.
    if ((meta.channels ?? 3) <= 2) pipeline = pipeline.toColourspace(sixteen ? "grey16" : "b-w");
    const { data, info } = await pipeline
      .raw({ depth: sixteen ? "ushort" : "uchar" })
      .toBuffer({ resolveWithObject: true });
    const channels = info.channels;
    if (channels < 1 || channels > 4)
      throw new Error(`${channels} channels (expected grey, grey+alpha, RGB or RGBA)`);
    const raster: RasterImage = sixteen
      ? {
          width: info.width,
          height: info.height,
          channels: channels as 1 | 2 | 3 | 4,
          bitDepth: 16,
          // Copy into an aligned Uint16Array (sharp's Buffer may sit at an odd offset in its pool).
          data: new Uint16Array(new Uint8Array(data).buffer, 0, info.width * info.height * channels),
        }
      : {
          width: info.width,
          height: info.height,
          channels: channels as 1 | 2 | 3 | 4,
          bitDepth: 8,
          data: new Uint8Array(data.buffer, data.byteOffset, data.length),
        };
    return raster;
  } catch (err) {
    throw new UserError(
      `${path}: cannot decode image (${(err as Error).message.replace(/\s+/g, " ").trim()})`,
    );
  }
}

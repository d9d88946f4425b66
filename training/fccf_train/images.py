"""Image I/O and colour conversions used by evaluation, inference and the parity fixtures.

- YCbCr is BT.601 full range (JPEG convention), float64 on the 0..255 scale.
- `evaluator_grey` is what the CDDFuse evaluator sees: OpenCV's IMREAD_GRAYSCALE of the saved PNG,
  i.e. the fixed-point BT.601 luma Y = (4899 R + 9617 G + 1868 B + 8192) >> 14 for colour images.

Example::

    rgb = load_image(path)                  # uint8, HxW or HxWx3
    y, cb, cr = rgb_to_ycbcr(rgb)           # float64
    back = ycbcr_to_rgb_u8(y, cb, cr)       # uint8 HxWx3, rounded and clipped
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

Array = np.ndarray


def load_image(path: str | Path) -> Array:
    """Read a PNG as uint8: HxW for single-channel files, HxWx3 for colour (alpha dropped)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such image file")
    try:
        im = Image.open(p)
        im.load()
    except Exception as exc:  # PIL raises many types for broken files
        raise ValueError(f"{p}: cannot decode image ({exc}); expected an 8-bit PNG") from exc
    if im.mode in ("L", "I;16", "I"):
        arr = np.asarray(im)
        if arr.dtype != np.uint8:
            raise ValueError(f"{p}: {arr.dtype} images are not supported here; convert to 8-bit PNG")
        return arr
    if im.mode == "LA":
        return np.asarray(im.convert("L"))
    return np.asarray(im.convert("RGB"))


def save_png(path: str | Path, img: Array) -> None:
    """Write a uint8 HxW or HxWx3 array as PNG."""
    if img.dtype != np.uint8:
        raise ValueError(f"save_png expects uint8, got {img.dtype}")
    Image.fromarray(img).save(path, format="PNG")


def is_colour(img: Array) -> bool:
    return img.ndim == 3


def evaluator_grey(img: Array) -> Array:
    """Greyscale as OpenCV IMREAD_GRAYSCALE reads the image (float64, 0..255)."""
    if img.ndim == 2:
        return img.astype(np.float64)
    c = img.astype(np.int64)
    y = (4899 * c[..., 0] + 9617 * c[..., 1] + 1868 * c[..., 2] + 8192) >> 14
    return y.astype(np.float64)


def rgb_to_ycbcr(img: Array) -> tuple[Array, Array, Array]:
    """BT.601 full-range YCbCr of an RGB image (float64, chroma centred on 128)."""
    x = img.astype(np.float64)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return y, cb, cr


def ycbcr_to_rgb(y: Array, cb: Array, cr: Array) -> Array:
    """Inverse of `rgb_to_ycbcr` (float64, unclipped)."""
    cb0 = cb - 128.0
    cr0 = cr - 128.0
    r = y + 1.402 * cr0
    g = y - 0.344136 * cb0 - 0.714136 * cr0
    b = y + 1.772 * cb0
    return np.stack([r, g, b], axis=-1)


def to_u8(x: Array) -> Array:
    """Round half to even (numpy) and clip to 0..255."""
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def ycbcr_to_rgb_u8(y: Array, cb: Array, cr: Array) -> Array:
    return to_u8(ycbcr_to_rgb(y, cb, cr))


def luma(img: Array) -> Array:
    """Float Y of an image (the image itself when grey)."""
    return img.astype(np.float64) if img.ndim == 2 else rgb_to_ycbcr(img)[0]


def cv2_ycrcb(img: Array) -> tuple[Array, Array, Array]:
    """OpenCV's 8-bit RGB->YCrCb (fixed point, 14-bit): integer Y, Cb, Cr as int64.

    The reference baselines of REFERENCE-RESULTS.md were made with these integer planes; Y equals
    `evaluator_grey`.
    """
    c = img.astype(np.int64)
    r, g, b = c[..., 0], c[..., 1], c[..., 2]
    y = (4899 * r + 9617 * g + 1868 * b + 8192) >> 14
    cr = np.clip(((r - y) * 11682 + (128 << 14) + 8192) >> 14, 0, 255)
    cb = np.clip(((b - y) * 9241 + (128 << 14) + 8192) >> 14, 0, 255)
    return y, cb, cr


def cv2_ycrcb_to_rgb_u8(y: Array, cb: Array, cr: Array) -> Array:
    """OpenCV's 8-bit YCrCb->RGB (fixed point) of integer planes."""
    yi = np.asarray(y).astype(np.int64)
    cbi = np.asarray(cb).astype(np.int64) - 128
    cri = np.asarray(cr).astype(np.int64) - 128
    r = yi + ((cri * 22987 + 8192) >> 14)
    g = yi + ((cbi * -5636 + cri * -11698 + 8192) >> 14)
    b = yi + ((cbi * 29049 + 8192) >> 14)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)

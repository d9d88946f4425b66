"""BT.601 full-range RGB <-> YCbCr on [0, 255] floats, and the [-1, 1] network scaling.

Example::

    ycc = rgb_to_ycbcr(rgb)          # [..., 3, H, W] or [H, W, 3] with channel_axis=-1
    x = to_unit(ycc)                 # [0, 255] -> [-1, 1]
"""
from __future__ import annotations

import numpy as np

_RGB2YCC = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], dtype=np.float64
)
_YCC2RGB = np.array([[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]], dtype=np.float64)


def rgb_to_ycbcr(rgb: np.ndarray, channel_axis: int = 0) -> np.ndarray:
    x = np.moveaxis(np.asarray(rgb, dtype=np.float64), channel_axis, -1)
    y = x @ _RGB2YCC.T
    y[..., 1:] += 128.0
    return np.moveaxis(y, -1, channel_axis)


def ycbcr_to_rgb(ycc: np.ndarray, channel_axis: int = 0) -> np.ndarray:
    x = np.moveaxis(np.asarray(ycc, dtype=np.float64), channel_axis, -1).copy()
    x[..., 1:] -= 128.0
    return np.moveaxis(x @ _YCC2RGB.T, -1, channel_axis)


def to_unit(v: np.ndarray) -> np.ndarray:
    return v / 127.5 - 1.0


def from_unit(v: np.ndarray) -> np.ndarray:
    return (v + 1.0) * 127.5

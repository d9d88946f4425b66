"""Backward warping with a displacement field in pixels: out(p) = img(p + flow(p)).

flow[:, 0] is dx (columns), flow[:, 1] is dy (rows). Bilinear, border padding, align_corners=True,
so pixel centres sit at integer coordinates 0..W-1 and a flow of 1 moves exactly one pixel.
The TypeScript engine's warp must follow the same convention.

Example::

    b_aligned = warp(b, flow)   # b [N, C, H, W], flow [N, 2, H, W]
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def warp(img: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    n, _, h, w = flow.shape
    ys = torch.arange(h, dtype=flow.dtype, device=flow.device).view(1, h, 1)
    xs = torch.arange(w, dtype=flow.dtype, device=flow.device).view(1, 1, w)
    gx = (xs + flow[:, 0]) * (2.0 / max(w - 1, 1)) - 1.0
    gy = (ys + flow[:, 1]) * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=True)


def _catmull_rom(t: torch.Tensor) -> list[torch.Tensor]:
    """Weights of the taps at offsets -1, 0, 1, 2 for fractional positions t in [0, 1)."""
    t2, t3 = t * t, t * t * t
    return [(-t3 + 2 * t2 - t) / 2, (3 * t3 - 5 * t2 + 2) / 2, (-3 * t3 + 4 * t2 + t) / 2, (t3 - t2) / 2]


def warp_cubic(img: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """As ``warp`` (same convention, sample positions clamped to the image) with Catmull-Rom cubic
    interpolation (Keys, a = -0.5), taps beyond the border repeating the edge: resampling a whole
    source keeps more fine detail than bilinear. Used for the classical pre-registration of B (the
    engine's ``warpPlaneCubic``); values can overshoot the input range slightly at steep edges.

    Example::

        b_aligned = warp_cubic(b, flow)   # b [N, C, H, W], flow [N, 2, H, W]
    """
    n, c, h, w = img.shape
    ys = torch.arange(h, dtype=flow.dtype, device=flow.device).view(1, h, 1)
    xs = torch.arange(w, dtype=flow.dtype, device=flow.device).view(1, 1, w)
    sx = (xs + flow[:, 0]).nan_to_num(0.0).clamp(0, w - 1)
    sy = (ys + flow[:, 1]).nan_to_num(0.0).clamp(0, h - 1)
    x0, y0 = sx.floor(), sy.floor()
    wx, wy = _catmull_rom(sx - x0), _catmull_rom(sy - y0)
    x0, y0 = x0.long(), y0.long()
    flat = img.reshape(n, c, h * w)
    out = torch.zeros_like(img)
    for j in range(4):
        rows = (y0 + j - 1).clamp(0, h - 1) * w
        acc = torch.zeros_like(img)
        for i in range(4):
            idx = (rows + (x0 + i - 1).clamp(0, w - 1)).view(n, 1, h * w).expand(n, c, h * w)
            acc = acc + wx[i][:, None] * flat.gather(2, idx).view(n, c, h, w)
        out = out + wy[j][:, None] * acc
    return out

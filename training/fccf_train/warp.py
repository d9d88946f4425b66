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

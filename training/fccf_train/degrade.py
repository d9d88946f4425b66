"""Synthetic degradations with known ground truth: smooth misalignment of B and sensor noise.

``random_deformation`` draws a smooth field g (affine + elastic, |g| <= max_px) and returns
``(g, flow_true)``: the misaligned source is ``b_mis = warp(b, g)`` and ``flow_true`` is the field
the network must predict so that ``warp(b_mis, flow_true) ~= b`` (the inverse of g, by fixed-point
iteration flow = -g(p + flow)). ``add_sensor_noise`` adds Gaussian or Poisson-like (signal-dependent)
noise of random strength, leaving some samples clean.

Example::

    g, flow_true = random_deformation(n, h, w, gen)
    b_mis = warp(b, g)
    a_noisy = add_sensor_noise(a, gen)
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .warp import warp


def random_deformation(
    n: int, h: int, w: int, gen: torch.Generator, max_px: float = 10.0, p_identity: float = 0.25
) -> tuple[torch.Tensor, torch.Tensor]:
    def u(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=gen)

    ys = torch.arange(h, dtype=torch.float32).view(1, h, 1).expand(n, h, w)
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, w).expand(n, h, w)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    ang = (u(n) * 2 - 1) * math.radians(4.0)
    scale = 1 + (u(n) * 2 - 1) * 0.04
    tx, ty = (u(n) * 2 - 1) * 5.0, (u(n) * 2 - 1) * 5.0
    cos, sin = (torch.cos(ang) * scale).view(n, 1, 1), (torch.sin(ang) * scale).view(n, 1, 1)
    dx, dy = xs - cx, ys - cy
    gx = cos * dx - sin * dy + cx + tx.view(n, 1, 1) - xs
    gy = sin * dx + cos * dy + cy + ty.view(n, 1, 1) - ys
    g = torch.stack([gx, gy], 1)
    # elastic part: coarse random grid, bicubic upsampling keeps it smooth
    amp = (u(n) * 4.0).view(n, 1, 1, 1)
    coarse = torch.randn(n, 2, 4, 4, generator=gen) * amp
    g = g + F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)
    mag = g.norm(dim=1).amax(dim=(1, 2)).clamp(min=1e-6)
    limit = u(n) * max_px
    g = g * torch.clamp(limit / mag, max=1.0).view(n, 1, 1, 1)
    g = g * (u(n) >= p_identity).float().view(n, 1, 1, 1)
    flow = -g
    for _ in range(8):
        flow = -warp(g, flow)
    return g, flow


def add_sensor_noise(
    x: torch.Tensor, gen: torch.Generator, p_clean: float = 0.35, max_sigma: float = 30.0
) -> torch.Tensor:
    """x in [-1, 1]; sigma in 8-bit units drawn from U(1, max_sigma)."""
    n = x.shape[0]
    sigma = (1 + torch.rand(n, generator=gen) * (max_sigma - 1)).view(n, 1, 1, 1) * (2 / 255)
    poisson = (torch.rand(n, generator=gen) < 0.5).view(n, 1, 1, 1)
    level = ((x + 1) * 127.5 + 1) / 128.0
    std = torch.where(poisson, sigma * level.clamp(min=0).sqrt(), sigma.expand_as(x))
    noisy = (x + std * torch.randn(x.shape, generator=gen)).clamp(-1, 1)
    keep = (torch.rand(n, generator=gen) < p_clean).view(n, 1, 1, 1)
    return torch.where(keep, x, noisy)

"""Backward warps: the cubic one used to pre-register B (known answers, and why it is used)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from fccf_train.warp import warp, warp_cubic


def _grid(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    ys = torch.arange(h, dtype=torch.float64).view(h, 1).expand(h, w)
    xs = torch.arange(w, dtype=torch.float64).view(1, w).expand(h, w)
    return xs, ys


def test_cubic_is_exact_on_zero_and_integer_flows() -> None:
    img = torch.rand(2, 3, 9, 11, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    zero = torch.zeros(2, 2, 9, 11, dtype=torch.float64)
    assert torch.equal(warp_cubic(img, zero), img)
    shift = zero.clone()
    shift[:, 0], shift[:, 1] = 2.0, -1.0  # out(x, y) = img(x + 2, y - 1), clamped at the border
    out = warp_cubic(img, shift)
    assert torch.allclose(out[..., 1:, :-2], img[..., :-1, 2:], atol=1e-12)
    assert torch.allclose(out[..., 0, :-2], img[..., 0, 2:], atol=1e-12)


def test_cubic_reproduces_a_quadratic_inside_and_bilinear_does_not() -> None:
    h, w = 12, 14
    xs, ys = _grid(h, w)
    f = lambda x, y: 0.3 * x * x - 0.2 * x * y + 0.5 * y * y + x  # noqa: E731
    img = f(xs, ys)[None, None]
    flow = torch.stack([torch.full((h, w), 0.37, dtype=torch.float64), torch.full((h, w), -0.61, dtype=torch.float64)])[None]
    want = f(xs + 0.37, ys - 0.61)
    inner = (slice(2, -2), slice(2, -2))
    assert float((warp_cubic(img, flow)[0, 0] - want)[inner].abs().max()) < 1e-9
    assert float((warp(img, flow)[0, 0] - want)[inner].abs().max()) > 0.05


def test_cubic_keeps_more_detail_than_bilinear_at_half_pixel_shifts() -> None:
    gen = torch.Generator().manual_seed(3)
    img = F.interpolate(torch.rand(1, 1, 24, 24, generator=gen, dtype=torch.float64), size=(48, 48), mode="bicubic", align_corners=True)
    half = torch.full((1, 2, 48, 48), 0.5, dtype=torch.float64)
    back = -half
    inner = (slice(None), slice(None), slice(4, -4), slice(4, -4))
    err_cubic = float((warp_cubic(warp_cubic(img, half), back) - img)[inner].abs().mean())
    err_bilinear = float((warp(warp(img, half), back) - img)[inner].abs().mean())
    assert err_cubic < 0.5 * err_bilinear

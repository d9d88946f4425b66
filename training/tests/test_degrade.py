"""Synthetic misalignment (known inverse field) and sensor noise."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from fccf_train.degrade import add_sensor_noise, random_deformation
from fccf_train.warp import warp


def test_flow_true_undoes_the_deformation() -> None:
    gen = torch.Generator().manual_seed(0)
    g, flow = random_deformation(6, 64, 64, gen, p_identity=0.0)
    assert float(g.norm(dim=1).amax()) <= 10.0 + 1e-4
    assert float(g.abs().max()) > 0.5
    # inverse property: flow(p) + g(p + flow(p)) = 0
    assert float((flow + warp(g, flow)).abs().max()) < 1e-3
    smooth = F.interpolate(torch.rand(6, 1, 8, 8, generator=gen), size=(64, 64), mode="bicubic", align_corners=True)
    b_mis = warp(smooth, g)
    back = warp(b_mis, flow)
    inner = (slice(None), slice(None), slice(12, -12), slice(12, -12))
    assert float((back - smooth)[inner].abs().mean()) < 0.2 * float((b_mis - smooth)[inner].abs().mean())


def test_identity_fraction_and_determinism() -> None:
    g1, f1 = random_deformation(8, 16, 16, torch.Generator().manual_seed(5), p_identity=1.0)
    assert float(g1.abs().max()) == 0.0 and float(f1.abs().max()) == 0.0
    a = random_deformation(3, 16, 16, torch.Generator().manual_seed(7))
    b = random_deformation(3, 16, 16, torch.Generator().manual_seed(7))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_noise_strength_range_and_clean_samples() -> None:
    x = torch.zeros(400, 1, 16, 16)
    y = add_sensor_noise(x, torch.Generator().manual_seed(0), p_clean=0.35, max_sigma=30.0)
    std = (y - x).flatten(1).std(1) * 127.5
    clean = std == 0
    assert 0.25 < float(clean.float().mean()) < 0.45
    assert float(std.max()) < 32.0  # 8-bit units, sigma <= 30 (plus sampling error)
    assert float(std[~clean].min()) > 0.3
    assert float(y.abs().max()) <= 1.0

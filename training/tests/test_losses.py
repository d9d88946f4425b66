"""Loss terms: known answers, finiteness and gradients."""
from __future__ import annotations

import math

import torch

from fccf_train import losses as L


def _img(seed: int, n: int = 2, h: int = 24, w: int = 24) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, h, w, generator=g) * 2 - 1


def test_known_answers() -> None:
    a, b = _img(0), _img(1)
    assert torch.allclose(L.ssim_loss(a, a, a), torch.zeros(2), atol=1e-5)
    assert torch.allclose(L.grad_loss(a, a, a), torch.zeros(2))
    use_max = torch.tensor([True, False])
    got = L.intensity_loss(torch.zeros_like(a), a, b, use_max)
    assert torch.allclose(got[0], torch.maximum(a, b)[0].abs().mean())
    assert torch.allclose(got[1], ((a + b) / 2)[1].abs().mean())
    flow = torch.zeros(1, 2, 4, 4)
    target = torch.zeros(1, 2, 4, 4)
    target[:, 0], target[:, 1] = 3.0, 4.0
    assert torch.allclose(L.epe(flow, target), torch.tensor([5.0]))
    assert torch.allclose(L.charbonnier(a, a), torch.zeros(2))
    # a constant image has no gradient: Sobel magnitude 0
    assert float(L.sobel_mag(torch.ones(1, 1, 8, 8)).abs().max()) == 0.0


def test_ssim_prefers_the_source_with_structure() -> None:
    flat = torch.zeros(1, 1, 32, 32)
    tex = _img(2, 1, 32, 32)
    # fused = textured source keeps its structure: lower loss than the flat one
    assert float(L.ssim_loss(tex, tex, flat)) < float(L.ssim_loss(flat, tex, flat))


def test_all_terms_finite_and_differentiable() -> None:
    a, b = _img(3), _img(4)
    f = _img(5).requires_grad_(True)
    flow = torch.randn(2, 2, 24, 24, requires_grad=True)
    total = (L.ssim_loss(f, a, b) + L.grad_loss(f, a, b) + L.intensity_loss(f, a, b, torch.tensor([True, False]))
             + L.chroma_loss(f, b) + L.charbonnier(f, a) + L.epe(flow, torch.zeros_like(flow))).sum()
    assert torch.isfinite(total)
    total.backward()
    assert f.grad is not None and torch.isfinite(f.grad).all() and float(f.grad.abs().sum()) > 0
    assert flow.grad is not None and torch.isfinite(flow.grad).all()


def test_correlation_nce_known_answers() -> None:
    r = 2
    flow = torch.zeros(1, 2, 16, 16)
    flow[:, 0], flow[:, 1] = 4.0, -8.0  # (1, -2) cells at 1/4 resolution
    k = (-2 + r) * (2 * r + 1) + (1 + r)
    peaked = torch.zeros(1, 25, 4, 4)
    peaked[:, k] = 60.0
    assert float(L.correlation_nce(peaked, flow, r)) < 1e-6
    # uniform logits: cross-entropy log(25) whatever the target
    assert torch.allclose(L.correlation_nce(torch.zeros(1, 25, 4, 4), flow, r), torch.tensor([math.log(25.0)]))
    # half a cell between two displacements: the target splits evenly, the loss is minimal there
    flow[:, 0] = 6.0  # 1.5 cells
    two = torch.zeros(1, 25, 4, 4)
    two[:, k], two[:, k + 1] = 30.0, 30.0
    assert torch.allclose(L.correlation_nce(two, flow, r), torch.tensor([math.log(2.0)]), atol=1e-5)


def test_focus_map_picks_the_sharp_source_per_region() -> None:
    # texture everywhere; A is defocused (blurred) on the right half, B on the left half
    tex = _img(3, n=1, h=48, w=96)
    blurred = L._gauss(L._gauss(tex, 9, 3.0), 9, 3.0)
    left = torch.zeros_like(tex)
    left[..., :48] = 1
    a = left * tex + (1 - left) * blurred
    b = left * blurred + (1 - left) * tex
    target, conf = L.focus_map(a, b)
    assert float(target[..., 8:40, 4:36].min()) == 1.0 and float(target[..., 8:40, 60:92].max()) == 0.0
    assert float(conf[..., 8:40, 4:36].mean()) > 0.8
    # the focus map is confident where it decides, so only a wrong mask pays
    assert float(L.focus_mask_loss(left, a, b)) < 0.05 < 0.5 < float(L.focus_mask_loss(1 - left, a, b))
    # identical sources: no confidence, no loss, whatever the mask
    assert float(L.focus_mask_loss(torch.full_like(a, 0.3), a, a)) == 0.0


def test_exposure_map_picks_the_better_exposed_source_per_region() -> None:
    # A dark on the left, mid-grey on the right; B mid-grey on the left, blown out on the right
    tex = _img(4, n=1, h=48, w=96) * 0.1
    left = torch.zeros_like(tex)
    left[..., :48] = 1
    a = left * (tex - 0.9) + (1 - left) * tex
    b = left * tex + (1 - left) * (tex + 0.9).clamp(max=1)
    target, conf = L.exposure_map(a, b)
    assert float(target[..., 8:40, 4:36].max()) == 0.0 and float(target[..., 8:40, 60:92].min()) == 1.0
    assert float(conf[..., 8:40, 4:36].mean()) > 0.8
    assert float(L.guide_mask_loss(1 - left, (target, conf))) < 0.05 < 0.5 < float(L.guide_mask_loss(left, (target, conf)))


def test_edge_loss_sees_blur_and_ignores_an_offset() -> None:
    sharp = torch.zeros(1, 1, 16, 16)
    sharp[..., 8:] = 1.0
    soft = sharp.clone()
    soft[..., 7], soft[..., 8] = 1 / 3, 2 / 3  # the same step spread over three pixels
    assert torch.allclose(L.edge_loss(sharp, sharp), torch.zeros(1))
    assert torch.allclose(L.edge_loss(sharp + 0.3, sharp), torch.zeros(1), atol=1e-7)  # no derivative changes
    assert float(L.edge_loss(soft, sharp)) > 0.02
    # the pixel loss charges the blur less than a uniform offset of 0.1; the edge term the other way round
    assert float(L.charbonnier(soft, sharp)) < float(L.charbonnier(sharp + 0.1, sharp))
    assert float(L.edge_loss(soft, sharp)) > float(L.edge_loss(sharp + 0.1, sharp))
    x = soft.clone().requires_grad_(True)
    L.edge_loss(x, sharp).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and float(x.grad.abs().sum()) > 0

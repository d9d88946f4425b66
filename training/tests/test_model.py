"""Network contract: shapes at two sizes, output ranges, warp convention, Chebyshev graph invariants."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fccf_train.graph import OFFSETS, ChebGraphLayer, shift
from fccf_train.model import (
    INPUT_MULTIPLE,
    FusionNet,
    ModelConfig,
    check_size,
    correlation,
    count_params,
    displacements,
    one_channel_1x1,
)
from fccf_train.warp import warp


@pytest.mark.parametrize("h,w,mask_head", [(32, 48, "subpixel"), (56, 40, "subpixel"), (56, 40, "bilinear")])
def test_encoder_denoiser_shapes(h: int, w: int, mask_head: str) -> None:
    torch.manual_seed(0)
    net = FusionNet(ModelConfig(mask_head=mask_head))
    cond = torch.rand(3, 2, h, w) * 2 - 1
    task = torch.tensor([0, 3, 7])
    feat, comp, mask, flow = net.encoder(cond, task)
    assert feat.shape == (3, net.cfg.feat, h // 4, w // 4)
    assert comp.shape == mask.shape == (3, 1, h, w)
    assert flow.shape == (3, 2, h, w)
    assert float(mask.min()) >= 0 and float(mask.max()) <= 1
    # composite is the mask blend of a and warped b
    expect = mask * cond[:, :1] + (1 - mask) * warp(cond[:, 1:], flow)
    assert torch.allclose(comp, expect, atol=1e-6)
    x0 = net.denoiser(torch.randn(3, 1, h, w), torch.tensor([0.0, 10.5, 999.0]), feat, comp)
    assert x0.shape == (3, 1, h, w)
    assert torch.isfinite(x0).all()


def test_fresh_model_has_zero_flow_and_an_identity_denoiser_at_t0() -> None:
    net = FusionNet()
    cond = torch.rand(2, 2, 16, 24) * 2 - 1
    _, comp, _, flow = net.encoder(cond, torch.tensor([1, 2]))
    assert float(flow.abs().max()) == 0.0  # zero-initialised registration gain and refinement
    # zero-initialised head: at t = 0 the denoiser returns x_t (c_skip = 1, c_out = 0)
    x = torch.rand(2, 1, 16, 24)
    out = net.denoiser(x, torch.zeros(2), torch.zeros(2, net.cfg.feat, 4, 6), comp)
    assert torch.allclose(out, x, atol=1e-3)


def test_correlation_channel_order_and_flow_readout() -> None:
    # descriptors of B are those of A moved by (dx, dy) = (1, -2) cells: the correlation peaks in
    # channel (dy + r) (2r + 1) + (dx + r), and a sharp soft-argmax reads that displacement
    torch.manual_seed(1)
    r = 2
    da = F.normalize(torch.randn(1, 8, 12, 14), dim=1)
    db = torch.roll(da, shifts=(-2, 1), dims=(2, 3))  # db(p + (1, -2)) = da(p)
    corr = correlation(da, db, r)
    inner = corr[..., 3:-3, 3:-3]
    k = (-2 + r) * (2 * r + 1) + (1 + r)
    assert torch.equal(inner.argmax(1), torch.full_like(inner.argmax(1), k))
    p = torch.softmax((corr - 1) * 40.0, 1)
    f = torch.einsum("nkhw,kc->nchw", p, displacements(r))[..., 3:-3, 3:-3]
    assert torch.allclose(f[:, 0], torch.ones_like(f[:, 0]), atol=0.01)
    assert torch.allclose(f[:, 1], torch.full_like(f[:, 1], -2.0), atol=0.01)


def test_parameter_count_is_size_independent_and_small() -> None:
    net = FusionNet(ModelConfig())
    assert 50_000 < count_params(net) < 240_000
    assert INPUT_MULTIPLE == 8
    check_size(480, 640)
    with pytest.raises(ValueError, match="multiple of 8"):
        check_size(481, 640)


def test_warp_moves_by_whole_pixels() -> None:
    img = torch.arange(20.0).view(1, 1, 4, 5)
    flow = torch.zeros(1, 2, 4, 5)
    flow[:, 0] = 1.0  # dx = 1: out(p) = img(p + (1, 0))
    out = warp(img, flow)[0, 0]
    assert torch.equal(out[:, :4], img[0, 0, :, 1:])
    assert torch.equal(out[:, 4], img[0, 0, :, 4])  # border padding
    flow = torch.zeros(1, 2, 4, 5)
    flow[:, 1] = -1.0  # dy = -1
    out = warp(img, flow)[0, 0]
    assert torch.equal(out[1:], img[0, 0, :3])


def test_shift_reads_the_neighbour() -> None:
    x = torch.arange(12.0).view(1, 1, 3, 4)
    s = shift(x, 1, -1)
    assert s[0, 0, 0, 1] == x[0, 0, 1, 0]
    assert s[0, 0, 2, 2] == 0  # outside -> 0


def test_chebyshev_weights_symmetric_and_laplacian_spectrum() -> None:
    torch.manual_seed(0)
    layer = ChebGraphLayer(4, 6)
    da, db = torch.randn(1, 6, 5, 7), torch.randn(1, 6, 5, 7)
    ws = dict(zip(OFFSETS, layer.edge_weights(da, db)))
    # w(p, p+o) == w(p+o, p): the weight map of -o, read at p+o
    for (dy, dx), w in ws.items():
        back = shift(ws[(-dy, -dx)], dy, dx)
        inside = shift(torch.ones_like(w), dy, dx)
        assert torch.allclose(w * inside, back * inside, atol=1e-6)
    # grid edges carry at least weight 1 inside the image
    assert float(ws[(0, 1)][..., :, :-1].min()) >= 1.0
    # L~ = -D^-1/2 W D^-1/2 has D^1/2 * 1 as eigenvector with eigenvalue -1 (normalised Laplacian eigenvalue 0):
    # check through the layer with only Theta_1 = identity
    for k, th in enumerate(layer.theta):
        torch.nn.init.zeros_(th.weight)
        if th.bias is not None:
            torch.nn.init.zeros_(th.bias)
    with torch.no_grad():
        layer.theta[1].weight[:, :, 0, 0] = torch.eye(4)
    deg = torch.stack(list(ws.values()), 0).sum(0)
    v = deg.sqrt().expand(1, 4, 5, 7).contiguous()
    out = layer(v, da, db)
    assert torch.allclose(out, -v, atol=1e-4)


def test_model_is_deterministic_for_a_seed() -> None:
    torch.manual_seed(3)
    a = FusionNet()
    torch.manual_seed(3)
    b = FusionNet()
    cond = torch.rand(1, 2, 16, 16)
    ea, eb = a.encoder(cond, torch.tensor([0])), b.encoder(cond, torch.tensor([0]))
    for x, y in zip(ea, eb):
        assert torch.equal(x, y)


def _grid_pattern_rms(mask_head: str) -> float:
    """RMS of the mask logits' mean 4x4 pattern (the part repeating on the 4-px grid) for a randomly
    perturbed model on a smooth input."""
    torch.manual_seed(0)
    net = FusionNet(ModelConfig(mask_head=mask_head)).eval()
    with torch.no_grad():
        for q in net.parameters():
            q.add_(torch.randn_like(q) * 0.1)
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, 64), torch.linspace(-1, 1, 96), indexing="ij")
        cond = torch.stack([xs * ys, torch.sin(3 * xs)])[None]
        _, _, mask, _ = net.encoder(cond, torch.tensor([2]))
        logit = torch.logit(mask.clamp(1e-6, 1 - 1e-6))[0, 0]
        blocks = logit.view(16, 4, 24, 4).permute(0, 2, 1, 3)  # [by, bx, 4, 4]
        pattern = (blocks - blocks.mean(dim=(2, 3), keepdim=True)).mean(dim=(0, 1))
        return float(pattern.pow(2).mean().sqrt())


def test_bilinear_mask_head_has_no_4px_grid() -> None:
    # the sub-pixel head can repeat one 4x4 pattern everywhere (the grid seen on MEF with MAX);
    # the bilinear head cannot
    sub, bil = _grid_pattern_rms("subpixel"), _grid_pattern_rms("bilinear")
    assert sub > 0.05
    assert bil < 0.1 * sub, (sub, bil)
    with pytest.raises(ValueError, match="mask_head"):
        FusionNet(ModelConfig(mask_head="nearest"))


def test_network_flow_gate_reads_b_as_given_for_the_named_tasks() -> None:
    from fccf_train.tasks import NUM_TASKS, task_by_name

    from .helpers import random_model

    m = random_model(ModelConfig(strategies=True))  # zero-initialised registration heads would give zero flow anyway
    cond = torch.rand(2, 2, 32, 48) * 2 - 1
    mff = task_by_name("MFF").id
    with torch.no_grad():
        flow_on = m.encoder(cond, torch.tensor([mff + NUM_TASKS, 0]))[3]
        assert float(flow_on[0].abs().max()) > 1e-3 and float(flow_on[1].abs().max()) > 1e-3
        m.set_network_flow(["MFF"])
        _, comp, mask, flow = m.encoder(cond, torch.tensor([mff + NUM_TASKS, 0]))
    assert float(flow[0].abs().max()) == 0.0 and torch.equal(flow[1], flow_on[1])
    a, b = cond[:, :1], cond[:, 1:]
    assert torch.allclose(comp[0], (mask * a + (1 - mask) * b)[0], atol=1e-5)
    assert m.network_flow_off() == ["MFF"]
    m.set_network_flow([])
    assert m.network_flow_off() == []
    with pytest.raises(ValueError, match="unknown task"):
        m.set_network_flow(["MFFX"])


def test_one_channel_1x1_is_the_convolution() -> None:
    torch.manual_seed(3)
    conv = torch.nn.Conv2d(12, 1, 1)
    x = torch.randn(2, 12, 9, 7)
    assert torch.allclose(one_channel_1x1(conv, x), conv(x), atol=1e-6)


def test_grown_denoiser_starts_from_the_smaller_ones_function_and_learns() -> None:
    from .helpers import random_model

    small = random_model(ModelConfig(), seed=4)
    big = FusionNet(ModelConfig(den=(16, 32), den_mid=3))
    big.load_for_finetune(small.state_dict())
    cond = torch.rand(2, 2, 32, 40) * 2 - 1
    task = torch.tensor([0, 5])
    x_t, t = torch.rand(2, 1, 32, 40) * 2 - 1, torch.tensor([3.0, 400.0])
    with torch.no_grad():
        feat, comp, _, _ = small.encoder(cond, task)
        want = small.denoiser(x_t, t, feat, comp)
    got = big.denoiser(x_t, t, feat, comp)
    assert torch.allclose(got, want, atol=1e-6)
    # the added capacity is not dead: the zero-initialised weights that read it receive gradients
    got.square().mean().backward()
    for name in ("mid_extra.0.weight", "mid_extra.1.weight", "head.weight", "mid.weight"):
        assert big.denoiser.get_parameter(name).grad.abs().sum() > 0, name
    grad = big.denoiser.head.weight.grad
    assert grad[:, 12:].abs().sum() > 0  # reads the 4 added half-resolution channels
    # an unrelated architecture is refused rather than silently cut
    with pytest.raises(ValueError, match="can only be grown"):
        FusionNet(ModelConfig(den=(8, 16))).load_for_finetune(small.state_dict())
